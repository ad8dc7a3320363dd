// Compiles a parse tree ONCE into JavaScript closures with Go's exec
// semantics (text/template/exec.go). No template text is ever evaluated as
// code. Each closure mirrors one of Go's eval functions, including where Go
// records the current node (s.node), so errors carry Go's location and
// expression.

import { quote } from "../../golib/quote.js";
import { BUILTINS } from "../builtins/index.js";
import { compiledFormat, runAllFast } from "../fmt/compiled-format.js";
import { printValue, sprintf } from "../fmt/index.js";
import type {
  ActionNode,
  BranchNode,
  ChainNode,
  CommandNode,
  FieldNode,
  IdentifierNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  VariableNode,
} from "../parse/ast.js";
import { nodeString } from "../parse/ast.js";
import type { Tree } from "../parse/parser.js";
import { compareBytes, GoComplex } from "../value.js";
import { type Common, MissingKey } from "./common.js";
import { evalField } from "./field.js";
import type { FuncEntry } from "./func-entry.js";
import { MAX_EXEC_DEPTH, type State } from "./state.js";
import {
  assignable,
  canBeNil,
  hasInterfaceElems,
  isFunc,
  isMap,
  MISSING,
  REFLECT,
  truth,
  typeName,
  UNSET,
  zeroOf,
} from "./values.js";

/** Runs a statement; returns 0, or BREAK/CONTINUE travelling up to the enclosing range. */
export type Exec = (s: State, dot: unknown, vars: unknown[]) => number;
/** Evaluates to a value. */
export type Eval = (s: State, dot: unknown, vars: unknown[]) => unknown;
/** Evaluates a command given the previous stage's value (or MISSING). */
type Cmd = (s: State, dot: unknown, vars: unknown[], final: unknown) => unknown;

const BREAK = 1;
const CONTINUE = 2;

export interface Compiled {
  /** Executes the tree with dot (and $) set to `dot`. */
  run(s: State, dot: unknown): void;
}

/** Lexical variable scope: Go's dynamic variable stack resolved at compile time to slots. */
class Scope {
  names: string[] = ["$"];
  slots: number[] = [0];
  nSlots = 1;

  declare(name: string): number {
    const slot = this.nSlots++;
    this.names.push(name);
    this.slots.push(slot);
    return slot;
  }

  /**
   * Every visible declaration of `name`, nearest first. Go looks variables
   * up on a runtime stack, so a nearer declaration that did not run (in the
   * other branch of an if) falls through to an outer one: exec tries these
   * slots in order and takes the first that is set.
   */
  resolveAll(name: string): number[] {
    const out: number[] = [];
    for (let i = this.names.length - 1; i >= 0; i--)
      if (this.names[i] === name) out.push(this.slots[i] as number);
    return out;
  }

  resolve(name: string): number {
    for (let i = this.names.length - 1; i >= 0; i--)
      if (this.names[i] === name) return this.slots[i] as number;
    return -1;
  }

  mark(): number {
    return this.names.length;
  }

  pop(mark: number): void {
    this.names.length = mark;
    this.slots.length = mark;
  }
}

export function compileTree(tree: Tree, common: Common): Compiled {
  const c = new Compiler(common);
  const body = tree.root ? c.list(tree.root) : null;
  const nSlots = c.scope.nSlots;
  return {
    run(s: State, dot: unknown): void {
      if (body === null) return;
      // Slots [0, nSlots) hold the variables; [nSlots, 2*nSlots) whether each is an interface{} element (error texts).
      const vars: unknown[] = new Array(2 * nSlots);
      vars[0] = dot;
      for (let i = 1; i < nSlots; i++) vars[i] = UNSET;
      body(s, dot, vars);
    },
  };
}

function resetSlots(vars: unknown[], from: number, to: number): void {
  for (let i = from; i < to; i++) vars[i] = UNSET;
}

/** printableValue + fmt.Fprint for an action's value. */
function printAction(s: State, node: Node, v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined) return "<no value>";
  if (isFunc(v)) s.errorf(`can't print ${nodeString(node)} of type ${typeName(v)}`);
  return printValue(v);
}

/**
 * Go's idealConstant, computed once per literal: the value of a number
 * literal used as a value (int, float64 or complex128), or the error text.
 */
function idealConstant(n: NumberNode): { value: unknown } | { error: string } {
  if (n.isComplex) return { value: new GoComplex(n.re, n.im) };
  const isHexInt =
    n.text.length > 2 &&
    n.text[0] === "0" &&
    (n.text[1] === "x" || n.text[1] === "X") &&
    !/[pP]/.test(n.text);
  if (n.isFloat && !isHexInt && n.text[0] !== "'" && /[.eEpP]/.test(n.text))
    return { value: n.float64 };
  if (n.isInt) return { value: n.int64 };
  if (n.isUint) return { error: `${n.text} overflows int` };
  return { value: undefined };
}

/** A closure producing a number literal's value (setting s.node like Go's idealConstant). */
function constantEval(n: NumberNode): (s: State) => unknown {
  const c = idealConstant(n);
  if ("error" in c) {
    const msg = c.error;
    return (s) => {
      s.node = n;
      return s.errorf(msg);
    };
  }
  const v = c.value;
  return (s) => {
    s.node = n;
    return v;
  };
}

/** m[key] if m is a plain map (Go map) holding key, else undefined. Only for keys not on Object.prototype. */
function mapGet(m: unknown, key: string): unknown {
  if (typeof m !== "object" || m === null) return undefined;
  const proto = Object.getPrototypeOf(m);
  if (proto !== Object.prototype && proto !== null) return undefined;
  return (m as Record<string, unknown>)[key];
}

/** m.k1.k2... through plain maps whose keys are all present, else undefined. Only for keys not on Object.prototype. */
function mapPath(m: unknown, keys: string[]): unknown {
  let r = m;
  for (let i = 0; i < keys.length; i++) {
    r = mapGet(r, keys[i] as string);
    if (r === undefined) return undefined;
  }
  return r;
}

/** The highest slot below `below` holding a value (the top of Go's variable stack), or -1. */
function topSet(vars: unknown[], below: number, min: number): number {
  for (let i = below - 1; i >= min; i--) if (vars[i] !== UNSET) return i;
  return -1;
}

/** The first slot of `slots` holding a value (Go's search down the variable stack), or -1. */
function firstSet(vars: unknown[], slots: number[]): number {
  for (let i = 0; i < slots.length; i++)
    if (vars[slots[i] as number] !== UNSET) return slots[i] as number;
  return -1;
}

class Compiler {
  readonly scope = new Scope();
  /** Slots declared by the last compiled pipeline (range reads its $i, $v). */
  lastDeclSlots: number[] = [];
  /** The command of the last compiled pipeline if it is a single command without declarations, else null. */
  lastSingleCmd: Cmd | null = null;

  constructor(readonly common: Common) {}

  findFunction(name: string): FuncEntry | undefined {
    return this.common.funcs.get(name) ?? BUILTINS.get(name);
  }

  // ---- statements ----

  list(list: ListNode): Exec {
    const fns: Exec[] = [];
    const nodes = list.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as Node;
      // Text around an action is written by the action's closure: fewer calls
      // and one append. Output order is unchanged (a pipeline cannot write),
      // and on an error the whole output is discarded anyway.
      const next = nodes[i + 1];
      if (n.type === "text" && next?.type === "action") {
        const after = nodes[i + 2];
        const suffix = after?.type === "text" ? after.text : "";
        fns.push(this.action(next, n.text, suffix));
        i += suffix === "" ? 1 : 2;
        continue;
      }
      if (n.type === "action") {
        const suffix = next?.type === "text" ? next.text : "";
        fns.push(this.action(n, "", suffix));
        if (suffix !== "") i++;
        continue;
      }
      const f = this.node(n);
      if (f !== null) fns.push(f);
    }
    if (fns.length === 0) return () => 0;
    if (fns.length === 1) return fns[0] as Exec;
    const n = fns.length;
    return (s, dot, vars) => {
      for (let i = 0; i < n; i++) {
        const rc = (fns[i] as Exec)(s, dot, vars);
        if (rc !== 0) return rc;
      }
      return 0;
    };
  }

  node(n: Node): Exec | null {
    switch (n.type) {
      case "text": {
        const text = n.text;
        return (s) => {
          s.out += text;
          return 0;
        };
      }
      case "comment":
        return null;
      case "action":
        return this.action(n, "", "");
      case "if":
      case "with":
        return this.ifOrWith(n);
      case "range":
        return this.range(n);
      case "template":
        return this.template(n);
      case "break":
        return () => BREAK;
      case "continue":
        return () => CONTINUE;
      case "list":
        return this.list(n);
      default:
        return (s) => {
          s.node = n;
          return s.errorf(`unknown node: ${nodeString(n)}`);
        };
    }
  }

  /** An action, writing `prefix` before and `suffix` after it (the text nodes around it). */
  action(n: ActionNode, prefix: string, suffix: string): Exec {
    const pipe = this.pipeline(n.pipe);
    const single = this.lastSingleCmd;
    if (single !== null) return this.printSingle(n, single, prefix, suffix);
    if (n.pipe.decl.length > 0) {
      return (s, dot, vars) => {
        s.out += prefix;
        s.node = n;
        pipe(s, dot, vars);
        s.out += suffix;
        return 0;
      };
    }
    return (s, dot, vars) => {
      s.out += prefix;
      s.node = n;
      const v = pipe(s, dot, vars);
      s.node = n;
      s.out += printAction(s, n, v) + suffix;
      return 0;
    };
  }

  /**
   * An action whose pipeline is one command without declarations: the
   * pipeline closure inlined (same s.node sequence), a string printed as is.
   */
  printSingle(n: ActionNode, cmd: Cmd, prefix: string, suffix: string): Exec {
    const pipeNode = n.pipe;
    if (prefix === "" && suffix === "") {
      return (s, dot, vars) => {
        s.node = pipeNode;
        const v = cmd(s, dot, vars, MISSING);
        s.node = n;
        s.out += typeof v === "string" ? v : printAction(s, n, v === null ? undefined : v);
        return 0;
      };
    }
    return (s, dot, vars) => {
      s.node = pipeNode;
      const v = cmd(s, dot, vars, MISSING);
      s.node = n;
      const text = typeof v === "string" ? v : printAction(s, n, v === null ? undefined : v);
      s.out += prefix + text + suffix;
      return 0;
    };
  }

  ifOrWith(n: BranchNode): Exec {
    const mark = this.scope.mark();
    const slotStart = this.scope.nSlots;
    const pipe = this.pipeline(n.pipe);
    const list = this.list(n.list);
    const elseList = n.elseList ? this.list(n.elseList) : null;
    this.scope.pop(mark);
    const slotEnd = this.scope.nSlots;
    const isWith = n.type === "with";
    return (s, dot, vars) => {
      s.node = n;
      const val = pipe(s, dot, vars);
      let rc = 0;
      if (truth(val)) {
        if (isWith) {
          const saved = s.dotIface;
          s.dotIface = false;
          rc = list(s, val, vars);
          s.dotIface = saved;
        } else {
          rc = list(s, dot, vars);
        }
      } else if (elseList !== null) {
        rc = elseList(s, dot, vars);
      }
      if (slotEnd > slotStart) resetSlots(vars, slotStart, slotEnd);
      return rc;
    };
  }

  range(n: BranchNode): Exec {
    const mark = this.scope.mark();
    const slotStart = this.scope.nSlots;
    const pipe = this.pipeline(n.pipe);
    const declSlots = this.lastDeclSlots;
    // Go sets the top variable to the element and the one below to the index.
    let elemSlot = declSlots.length > 0 ? (declSlots[declSlots.length - 1] as number) : -1;
    let indexSlot = declSlots.length > 1 ? (declSlots[0] as number) : -1;
    // `range $v = ...` assigns the value to $v, then each iteration sets Go's top variables.
    const assign = n.pipe.isAssign && n.pipe.decl.length > 0;
    const assignIndex = assign && n.pipe.decl.length > 1;
    const bodyStart = this.scope.nSlots;
    const bodyMark = this.scope.mark();
    const body = this.list(n.list);
    this.scope.pop(bodyMark);
    const bodyEnd = this.scope.nSlots;
    const elseList = n.elseList ? this.list(n.elseList) : null;
    this.scope.pop(mark);
    const slotEnd = this.scope.nSlots;
    const resetBody = bodyEnd > bodyStart;

    const scope = this.scope;
    const iteration = (s: State, vars: unknown[], index: unknown, elem: unknown): number => {
      if (assign) {
        // Go's setTopVar: the innermost live variables, whatever their names.
        elemSlot = topSet(vars, slotStart, 0);
        indexSlot = assignIndex ? topSet(vars, elemSlot, 0) : -1;
      }
      if (elemSlot >= 0) {
        vars[elemSlot] = elem;
        vars[elemSlot + scope.nSlots] = s.dotIface;
      }
      if (indexSlot >= 0) vars[indexSlot] = index;
      const rc = body(s, elem, vars);
      if (resetBody) resetSlots(vars, bodyStart, bodyEnd);
      return rc;
    };

    return (s, dot, vars) => {
      s.node = n;
      const val = pipe(s, dot, vars);
      let rc = 0;
      let iterated = false;
      if (Array.isArray(val)) {
        const len = val.length;
        if (len > 0) {
          iterated = true;
          const saved = s.dotIface;
          const iface = hasInterfaceElems(val);
          for (let i = 0; i < len; i++) {
            const e: unknown = val[i];
            s.dotIface = iface;
            if (
              iteration(
                s,
                vars,
                indexSlot >= 0 || assignIndex ? BigInt(i) : undefined,
                e === undefined ? null : e,
              ) === BREAK
            )
              break;
          }
          s.dotIface = saved;
        }
      } else if (isMap(val)) {
        const keys = sortedMapKeys(val);
        if (keys.length > 0) {
          iterated = true;
          const saved = s.dotIface;
          const iface = hasInterfaceElems(val);
          for (const k of keys) {
            const e = val[k];
            s.dotIface = iface;
            if (iteration(s, vars, k, e === undefined ? null : e) === BREAK) break;
          }
          s.dotIface = saved;
        }
      } else if (val !== undefined) {
        s.errorf(`range can't iterate over ${printValue(val)}`);
      }
      // Go's walkRange recovers walkBreak for its whole extent, else branch included:
      // a {{break}} there (meant for an outer range) only ends this range.
      if (!iterated && elseList !== null) {
        rc = elseList(s, dot, vars);
        if (rc === BREAK) rc = 0;
      }
      if (slotEnd > slotStart) resetSlots(vars, slotStart, slotEnd);
      return rc;
    };
  }

  template(n: TemplateNode): Exec {
    const pipe = n.pipe ? this.pipeline(n.pipe) : null;
    const name = n.name;
    const common = this.common;
    return (s, dot, vars) => {
      s.node = n;
      const t = common.tmpl.get(name);
      if (t === undefined || t.tree === null)
        return s.errorf(`template ${quote(name)} not defined`);
      if (s.depth >= MAX_EXEC_DEPTH)
        s.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
      const newDot = pipe === null ? undefined : pipe(s, dot, vars);
      const compiled = compiledFor(t.tree, common);
      const savedName = s.name;
      const savedIface = s.dotIface;
      s.name = t.name;
      s.dotIface = false;
      s.depth++;
      compiled.run(s, newDot);
      s.depth--;
      s.name = savedName;
      s.dotIface = savedIface;
      return 0;
    };
  }

  // ---- pipelines and commands ----

  pipeline(pipe: PipeNode): Eval {
    const cmds = pipe.cmds.map((c) => this.command(c));
    // Declarations come into scope after the commands are compiled: at run
    // time Go pushes them only once the pipeline has a value.
    const isAssign = pipe.isAssign;
    const scope = this.scope;
    const declNames = pipe.decl.map((v) => v.ident[0] as string);
    // For an assignment, the visible declarations of each name (see resolveAll).
    const targets = isAssign ? declNames.map((name) => this.scope.resolveAll(name)) : [];
    const decls = isAssign ? [] : declNames.map((name) => this.scope.declare(name));
    this.lastDeclSlots = decls;
    this.lastSingleCmd = null;
    if (cmds.length === 1 && decls.length === 0 && targets.length === 0) {
      const cmd = cmds[0] as Cmd;
      this.lastSingleCmd = cmd;
      return (s, dot, vars) => {
        s.node = pipe;
        const v = cmd(s, dot, vars, MISSING);
        return v === null ? undefined : v;
      };
    }
    const n = cmds.length;
    return (s, dot, vars) => {
      s.node = pipe;
      let v: unknown = MISSING;
      for (let i = 0; i < n; i++) {
        v = (cmds[i] as Cmd)(s, dot, vars, v);
        if (v === null) v = undefined;
      }
      for (let i = 0; i < decls.length; i++) {
        vars[decls[i] as number] = v;
        vars[(decls[i] as number) + scope.nSlots] = false;
      }
      for (let i = 0; i < targets.length; i++) {
        const slot = firstSet(vars, targets[i] as number[]);
        if (slot < 0) s.errorf(`undefined variable: ${declNames[i]}`);
        vars[slot] = v;
        vars[slot + scope.nSlots] = false;
      }
      return v;
    };
  }

  command(cmd: CommandNode): Cmd {
    const first = cmd.args[0] as Node;
    switch (first.type) {
      case "field":
        return this.fieldNode(first, cmd.args);
      case "chain":
        return this.chainNode(first, cmd.args);
      case "identifier":
        return this.functionCall(first, cmd, cmd.args);
      case "pipe": {
        const inner = this.pipeline(first);
        const extra = cmd.args.length > 1;
        return (s, dot, vars, final) => {
          if (extra || final !== MISSING) notAFunction(s, first);
          return inner(s, dot, vars);
        };
      }
      case "variable":
        return this.variableNode(first, cmd.args);
    }
    const extra = cmd.args.length > 1;
    const num = first.type === "number" ? constantEval(first) : null;
    const constant = (s: State, dot: unknown): unknown => {
      switch (first.type) {
        case "bool":
          return first.value;
        case "dot":
          return dot;
        case "nil":
          return s.errorf("nil is not a command");
        case "number":
          return (num as (s: State) => unknown)(s);
        case "string":
          return first.text;
      }
      return s.errorf(`can't evaluate command ${quote(nodeString(first))}`);
    };
    return (s, dot, _vars, final) => {
      s.node = first;
      if (extra || final !== MISSING) notAFunction(s, first);
      return constant(s, dot);
    };
  }

  /** .a.b.c with the arguments of its command (args[0] is the field itself). */
  fieldNode(field: FieldNode, args: Node[]): Cmd {
    const chain = this.fieldChain(field, field.ident, args);
    const fields = field.ident;
    if (args.length <= 1 && fields.length > 1 && fields.every((f) => !(f in Object.prototype))) {
      // The same plain-map walk as for $x.f.g (see variableNode).
      return (s, dot, vars, final) => {
        s.node = field;
        if (final === MISSING) {
          const x = mapPath(dot, fields);
          if (x !== undefined) return x;
        }
        return chain(s, dot, vars, final, dot, s.dotIface);
      };
    }
    return (s, dot, vars, final) => {
      s.node = field;
      return chain(s, dot, vars, final, dot, s.dotIface);
    };
  }

  chainNode(chain: ChainNode, args: Node[]): Cmd {
    const head = chain.node.type === "nil" ? null : this.arg(chain.node, null);
    const fields = this.fieldChain(chain, chain.field, args);
    return (s, dot, vars, final) => {
      s.node = chain;
      if (head === null)
        return s.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
      const recv = head(s, dot, vars);
      return fields(s, dot, vars, final, recv, false);
    };
  }

  variableNode(v: VariableNode, args: Node[]): Cmd {
    const name = v.ident[0] as string;
    const slots = this.scope.resolveAll(name);
    const only = slots.length === 1 ? (slots[0] as number) : -1;
    const read = (s: State, vars: unknown[]): unknown => {
      const slot = only >= 0 ? only : firstSet(vars, slots);
      const val = slot < 0 ? UNSET : vars[slot];
      if (val === UNSET) s.errorf(`undefined variable: ${name}`);
      return val;
    };
    if (v.ident.length === 1) {
      const extra = args.length > 1;
      if (only >= 0 && !extra) {
        return (s, _dot, vars, final) => {
          s.node = v;
          const val = vars[only];
          if (val === UNSET) s.errorf(`undefined variable: ${name}`);
          if (final !== MISSING) notAFunction(s, v);
          return val;
        };
      }
      return (s, _dot, vars, final) => {
        s.node = v;
        const val = read(s, vars);
        if (extra || final !== MISSING) notAFunction(s, v);
        return val;
      };
    }
    const chain = this.fieldChain(v, v.ident.slice(1), args);
    const scope = this.scope;
    const fields = v.ident.slice(1);
    if (only >= 0 && args.length <= 1 && fields.every((f) => !(f in Object.prototype))) {
      // $x.f.g: a walk through plain maps whose keys are all present needs none
      // of fieldChain's checks; anything else takes the chain from the start.
      const f0 = fields[0] as string;
      return (s, dot, vars, final) => {
        s.node = v;
        const val = vars[only];
        if (val === UNSET) s.errorf(`undefined variable: ${name}`);
        if (final === MISSING) {
          const x = fields.length === 1 ? mapGet(val, f0) : mapPath(val, fields);
          if (x !== undefined) return x;
        }
        return chain(s, dot, vars, final, val, vars[only + scope.nSlots] === true);
      };
    }
    return (s, dot, vars, final) => {
      s.node = v;
      const val = read(s, vars);
      const slot = only >= 0 ? only : firstSet(vars, slots);
      return chain(s, dot, vars, final, val, vars[slot + scope.nSlots] === true);
    };
  }

  /** Go's evalFieldChain: every field but the last without arguments, the last with them. */
  fieldChain(
    node: Node,
    idents: string[],
    args: Node[],
  ): (
    s: State,
    dot: unknown,
    vars: unknown[],
    final: unknown,
    recv: unknown,
    recvIface: boolean,
  ) => unknown {
    const n = idents.length;
    const lastName = idents[n - 1] as string;
    const argNodes = args.slice(1);
    const hasArgNodes = argNodes.length > 0;
    const call = this.methodCaller(node, lastName, argNodes);
    // Names that exist on Object.prototype need an own-property check.
    const safe = idents.map((id) => !(id in Object.prototype));
    if (n === 1 && !hasArgNodes) {
      const name = lastName;
      const isSafe = safe[0] as boolean;
      return (s, dot, vars, final, recv, recvIface) => {
        // Fast path: a map, no arguments, key present.
        if (final === MISSING && typeof recv === "object" && recv !== null) {
          const proto = Object.getPrototypeOf(recv);
          if (proto === Object.prototype || proto === null) {
            const m = recv as Record<string, unknown>;
            const v = isSafe ? m[name] : Object.hasOwn(m, name) ? m[name] : undefined;
            if (v !== undefined) return v;
          }
        }
        return evalField(s, name, recv, recvIface, final !== MISSING, call, dot, vars, final);
      };
    }
    return (s, dot, vars, final, recv, recvIface) => {
      let r = recv;
      let prev: unknown = null;
      for (let i = 0; i < n; i++) {
        const name = idents[i] as string;
        const last = i === n - 1;
        const hasArgs = last && (hasArgNodes || final !== MISSING);
        // Fast path: a map without arguments, key present.
        if (!hasArgs && typeof r === "object" && r !== null) {
          const proto = Object.getPrototypeOf(r);
          if (proto === Object.prototype || proto === null) {
            const m = r as Record<string, unknown>;
            const v = safe[i] ? m[name] : Object.hasOwn(m, name) ? m[name] : undefined;
            if (v !== undefined) {
              prev = m;
              r = v;
              continue;
            }
          }
        }
        // Slow path (Go's evalField); the receiver's static type matters only for error texts.
        const iface = i === 0 ? recvIface : isMap(prev) && hasInterfaceElems(prev);
        prev = r;
        r = evalField(s, name, r, iface, hasArgs, last ? call : null, dot, vars, final);
      }
      return r;
    };
  }

  /** Calls a method found on a host struct, with the command's arguments. */
  methodCaller(node: Node, name: string, argNodes: Node[]): MethodCall {
    const cache = new Map<string, Eval>();
    const argFor = (argNode: Node, idx: number, typ: string): Eval => {
      const key = `${idx}:${typ}`;
      let f = cache.get(key);
      if (f === undefined) {
        f = this.arg(argNode, typ);
        cache.set(key, f);
      }
      return f;
    };
    return (s, dot, vars, final, entry) => {
      const argEvals = argNodes.map((a, i) => argFor(a, i, paramType(entry, i)));
      return evalCall(s, dot, vars, entry, node, name, argEvals, final);
    };
  }

  functionCall(ident: IdentifierNode, cmd: Node, args: Node[]): Cmd {
    const name = ident.ident;
    const entry = this.findFunction(name);
    if (entry === undefined) {
      return (s) => {
        s.node = ident;
        s.errorf(`${quote(name)} is not a defined function`);
      };
    }
    const argNodes = args.slice(1);
    if (entry.builtin && (name === "and" || name === "or"))
      return this.andOr(ident, name === "or", argNodes);
    const argEvals = argNodes.map((a, i) => this.arg(a, paramType(entry, i)));
    if (entry.builtin && (name === "eq" || name === "ne") && argEvals.length === 2) {
      return this.equality(ident, cmd, entry, argEvals, name === "ne");
    }
    if (entry.builtin && name === "index" && argEvals.length === 2)
      return this.index2(ident, cmd, entry, argEvals);
    if (entry.builtin && name === "printf" && argEvals.length >= 1)
      return this.printf(ident, cmd, entry, argEvals, argNodes[0] as Node);
    return (s, dot, vars, final) => {
      s.node = ident;
      return evalCall(s, dot, vars, entry, cmd, name, argEvals, final);
    };
  }

  /** eq/ne with two arguments: same-kind scalars compare inline; anything else takes Go's full rules. */
  equality(
    ident: IdentifierNode,
    cmd: Node,
    entry: FuncEntry,
    argEvals: Eval[],
    negate: boolean,
  ): Cmd {
    const [ea, eb] = argEvals as [Eval, Eval];
    const name = ident.ident;
    return (s, dot, vars, final) => {
      s.node = ident;
      if (final !== MISSING) return evalCall(s, dot, vars, entry, cmd, name, argEvals, final);
      const a = ea(s, dot, vars);
      const b = eb(s, dot, vars);
      const ta = typeof a;
      if (
        ta === typeof b &&
        (ta === "string" || ta === "number" || ta === "bigint" || ta === "boolean")
      ) {
        return negate ? a !== b : a === b;
      }
      try {
        return entry.call([a, b]);
      } catch (e) {
        s.node = cmd;
        return s.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
  }

  /** index with two arguments: a slice and an in-range int inline; anything else takes the builtin. */
  index2(ident: IdentifierNode, cmd: Node, entry: FuncEntry, argEvals: Eval[]): Cmd {
    const [ea, eb] = argEvals as [Eval, Eval];
    return (s, dot, vars, final) => {
      s.node = ident;
      if (final !== MISSING) return evalCall(s, dot, vars, entry, cmd, "index", argEvals, final);
      const a = ea(s, dot, vars);
      const b = eb(s, dot, vars);
      if (Array.isArray(a) && typeof b === "bigint") {
        // Number() of a huge index may round, but never into [0, length).
        const i = Number(b);
        if (i >= 0 && i < a.length) {
          const v: unknown = a[i];
          return v === undefined ? null : v;
        }
      }
      try {
        return entry.call([a, b]);
      } catch (e) {
        s.node = cmd;
        return s.errorf(`error calling index: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
  }

  /**
   * printf without a final pipeline value: the arguments go straight into
   * sprintf's argument array (no argv copy), and a literal format is looked
   * up in the compiled-format cache once, here.
   */
  printf(ident: IdentifierNode, cmd: Node, entry: FuncEntry, argEvals: Eval[], fmtNode: Node): Cmd {
    const fmtEval = argEvals[0] as Eval;
    const rest = argEvals.slice(1);
    const nrest = rest.length;
    const cf = fmtNode.type === "string" ? compiledFormat(fmtNode.text) : null;
    return (s, dot, vars, final) => {
      s.node = ident;
      if (final !== MISSING) return evalCall(s, dot, vars, entry, cmd, "printf", argEvals, final);
      const format = fmtEval(s, dot, vars) as string;
      const args: unknown[] = new Array(nrest);
      for (let i = 0; i < nrest; i++) args[i] = (rest[i] as Eval)(s, dot, vars);
      try {
        if (cf !== null) {
          const fast = runAllFast(cf, args);
          if (fast !== undefined) return fast;
        }
        return sprintf(format, args);
      } catch (e) {
        s.node = cmd;
        return s.errorf(`error calling printf: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
  }

  andOr(ident: IdentifierNode, isOr: boolean, argNodes: Node[]): Cmd {
    const argEvals = argNodes.map((a) => this.arg(a, REFLECT));
    const n = argEvals.length;
    const name = ident.ident;
    return (s, dot, vars, final) => {
      s.node = ident;
      if (n + (final !== MISSING ? 1 : 0) < 1)
        s.errorf(`wrong number of args for ${name}: want at least 1 got ${n}`);
      let v: unknown;
      for (let i = 0; i < n; i++) {
        v = (argEvals[i] as Eval)(s, dot, vars);
        if (truth(v) === isOr) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    };
  }

  // ---- arguments ----

  /** Go's evalArg: an argument evaluated for a parameter of type `typ` (null: no type, for chains). */
  arg(n: Node, typ: string | null): Eval {
    switch (n.type) {
      case "dot":
        return (s, dot) => {
          s.node = n;
          return validateType(s, dot, typ);
        };
      case "nil":
        if (typ !== null && canBeNil(typ)) {
          const z = typ === REFLECT ? undefined : null;
          return (s) => {
            s.node = n;
            return z;
          };
        }
        return (s) => {
          s.node = n;
          s.errorf(`cannot assign nil to ${typ}`);
        };
      case "field": {
        const f = this.fieldNode(n, [n]);
        // The field closure sets s.node = n first, and validation of these types cannot fail.
        if (typ === null || typ === REFLECT) return (s, dot, vars) => f(s, dot, vars, MISSING);
        if (typ === "any")
          return (s, dot, vars) => {
            const v = f(s, dot, vars, MISSING);
            return v === undefined ? null : v;
          };
        return (s, dot, vars) => {
          s.node = n;
          return validateType(s, f(s, dot, vars, MISSING), typ);
        };
      }
      case "variable": {
        const f = this.variableNode(n, []);
        // The variable closure sets s.node = n first, and validation of these types cannot fail.
        if (typ === null || typ === REFLECT) return (s, dot, vars) => f(s, dot, vars, MISSING);
        if (typ === "any")
          return (s, dot, vars) => {
            const v = f(s, dot, vars, MISSING);
            return v === undefined ? null : v;
          };
        return (s, dot, vars) => {
          s.node = n;
          return validateType(s, f(s, dot, vars, MISSING), typ);
        };
      }
      case "pipe": {
        const f = this.pipeline(n);
        return (s, dot, vars) => {
          s.node = n;
          return validateType(s, f(s, dot, vars), typ);
        };
      }
      case "identifier": {
        const f = this.functionCall(n, n, [n]);
        return (s, dot, vars) => {
          s.node = n;
          return validateType(s, f(s, dot, vars, MISSING), typ);
        };
      }
      case "chain": {
        const f = this.chainNode(n, []);
        return (s, dot, vars) => {
          s.node = n;
          return validateType(s, f(s, dot, vars, MISSING), typ);
        };
      }
    }
    return this.constantArg(n, typ ?? REFLECT);
  }

  /** A literal argument: its Go type follows the parameter (evalBool, evalInteger, ...). */
  constantArg(n: Node, typ: string): Eval {
    const fail =
      (msg: string): Eval =>
      (s) => {
        s.node = n;
        s.errorf(msg);
      };
    const value =
      (v: unknown): Eval =>
      (s) => {
        s.node = n;
        return v;
      };
    const found = nodeString(n);
    switch (typ) {
      case "bool":
        return n.type === "bool" ? value(n.value) : fail(`expected bool; found ${found}`);
      case "float64":
      case "float32":
        return n.type === "number" && n.isFloat
          ? value(n.float64)
          : fail(`expected float; found ${found}`);
      case "int":
      case "int8":
      case "int16":
      case "int32":
      case "int64":
        return n.type === "number" && n.isInt
          ? value(n.int64)
          : fail(`expected integer; found ${found}`);
      case "uint":
      case "uint8":
      case "uint16":
      case "uint32":
      case "uint64":
        return n.type === "number" && n.isUint
          ? value(n.uint64)
          : fail(`expected unsigned integer; found ${found}`);
      case "string":
        return n.type === "string" ? value(n.text) : fail(`expected string; found ${found}`);
      case "complex128":
        return n.type === "number" && n.isComplex
          ? value(new GoComplex(n.re, n.im))
          : fail(`expected complex; found ${found}`);
    }
    if (typ === REFLECT || typ === "any" || typ === "interface {}") {
      switch (n.type) {
        case "bool":
          return value(n.value);
        case "string":
          return value(n.text);
        case "number":
          return constantEval(n);
      }
      return fail(`can't handle assignment of ${found} to empty interface argument`);
    }
    return fail(`can't handle ${found} for arg of type ${typ}`);
  }
}

type MethodCall = (
  s: State,
  dot: unknown,
  vars: unknown[],
  final: unknown,
  entry: FuncEntry,
) => unknown;

export type { MethodCall };

function paramType(entry: FuncEntry, i: number): string {
  if (i < entry.params.length && (entry.variadic === null || i < entry.params.length))
    return entry.params[i] as string;
  return entry.variadic ?? "any";
}

function notAFunction(s: State, first: Node): never {
  return s.errorf(`can't give argument to non-function ${nodeString(first)}`);
}

/** Go's validateType: checks (and for nil, converts) a value for a parameter type. */
function validateType(s: State, value: unknown, typ: string | null): unknown {
  if (value === undefined) {
    if (typ === null || typ === REFLECT) return undefined;
    if (canBeNil(typ)) return typ === "any" || typ.startsWith("interface") ? null : zeroNil(typ);
    s.errorf(`invalid value; expected ${typ}`);
  }
  if (typ === null || typ === REFLECT || typ === "any") return value;
  const vt = typeName(value);
  if (!assignable(vt, typ)) s.errorf(`wrong type for value; expected ${typ}; got ${vt}`);
  return value;
}

function zeroNil(_typ: string): unknown {
  return null;
}

/** Go's evalCall for a function or method with its (compiled) argument nodes. */
function evalCall(
  s: State,
  dot: unknown,
  vars: unknown[],
  entry: FuncEntry,
  node: Node,
  name: string,
  argEvals: Eval[],
  final: unknown,
): unknown {
  const nargs = argEvals.length;
  const hasFinal = final !== MISSING;
  const numIn = nargs + (hasFinal ? 1 : 0);
  const nparams = entry.params.length;
  let numFixed = nargs;
  if (entry.variadic !== null) {
    numFixed = nparams;
    if (numIn < numFixed)
      s.errorf(`wrong number of args for ${name}: want at least ${nparams} got ${nargs}`);
  } else if (numIn !== nparams) {
    s.errorf(`wrong number of args for ${name}: want ${nparams} got ${numIn}`);
  }
  const argv: unknown[] = new Array(numIn);
  let i = 0;
  for (; i < nargs; i++) argv[i] = (argEvals[i] as Eval)(s, dot, vars);
  if (hasFinal) {
    let t: string;
    if (entry.variadic !== null)
      t = numIn - 1 < numFixed ? (entry.params[numIn - 1] as string) : entry.variadic;
    else t = entry.params[nparams - 1] as string;
    argv[i] = validateType(s, final, t);
  }
  try {
    return entry.call(argv);
  } catch (e) {
    s.node = node;
    const msg = e instanceof Error ? e.message : String(e);
    return s.errorf(`error calling ${name}: ${msg}`);
  }
}

export { evalCall };

/** Characters whose UTF-16 order differs from UTF-8 byte order (against surrogates). */
const ABOVE_SURROGATES = /[\ue000-\uffff]/;

const sortedCache = new WeakMap<object, { keys: string[]; sorted: string[] }>();

/** A map's keys in Go's order; the sort is cached per object and reused while its key list is unchanged. */
function sortedMapKeys(m: Record<string, unknown>): string[] {
  const keys = Object.keys(m);
  const hit = sortedCache.get(m);
  if (hit !== undefined && hit.keys.length === keys.length) {
    let same = true;
    for (let i = 0; i < keys.length; i++) {
      if (hit.keys[i] !== keys[i]) {
        same = false;
        break;
      }
    }
    if (same) return hit.sorted;
  }
  const sorted = sortKeys(keys.slice());
  sortedCache.set(m, { keys, sorted });
  return sorted;
}

/** Sorts map keys in Go's order (byte-wise): UTF-16 order unless a key needs the slow comparison. */
export function sortKeys(keys: string[]): string[] {
  keys.sort();
  for (const k of keys) if (ABOVE_SURROGATES.test(k)) return keys.sort(compareBytes);
  return keys;
}

// ---- per-tree compile cache ----

const cache = new WeakMap<Tree, { version: number; compiled: Compiled }>();

/** The compiled form of a tree, compiled on first use and again after the function map changes. */
export function compiledFor(tree: Tree, common: Common): Compiled {
  const hit = cache.get(tree);
  if (hit !== undefined && hit.version === common.version) return hit.compiled;
  const compiled = compileTree(tree, common);
  cache.set(tree, { version: common.version, compiled });
  return compiled;
}

export { MissingKey, zeroOf };
