// The parser of Go's text/template/parse (parse.go), ported token for token
// so that every parse error has Go's message and Go's line number.

import { quote } from "../../golib/quote.js";
import { parseFloat64, parseInt0, parseUint0, unquote, unquoteChar } from "../../golib/strconv.js";
import { ParseError } from "../errors.js";
import type {
  BranchNode,
  ChainNode,
  CommandNode,
  ElseNode,
  EndNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  TreeInfo,
  VariableNode,
} from "./ast.js";
import { isEmptyTree, nodeString } from "./ast.js";
import { type Item, itemString, Lexer, T } from "./lexer.js";

/** One parsed template (Go's parse.Tree). */
export interface Tree {
  name: string;
  parseName: string;
  root: ListNode | null;
  info: TreeInfo;
}

/** Nesting bound for parenthesised pipelines and control structures (Go 1.20 uses 10000; JS stacks are smaller). */
export const MAX_PARSE_DEPTH = 1000;

export interface ParseOptions {
  leftDelim: string;
  rightDelim: string;
  /** Is a function of this name defined (builtins included)? */
  hasFunction: (name: string) => boolean;
}

const NO_ITEM: Item = { typ: T.Error, pos: 0, val: "", line: 0 };

/** Parses `text` as template `name`; adds every tree (the root and each define/block) to `treeSet`. */
export function parse(
  name: string,
  text: string,
  opts: ParseOptions,
  treeSet: Map<string, Tree>,
): void {
  const lex = new Lexer(
    text,
    opts.leftDelim || "{{",
    opts.rightDelim || "}}",
    false,
    !opts.hasFunction("break"),
    !opts.hasFunction("continue"),
  );
  const p = new Parser(name, name, { text, parseName: name }, lex, opts, treeSet);
  p.parseRoot();
}

class Parser {
  readonly token: Item[] = [NO_ITEM, NO_ITEM, NO_ITEM];
  peekCount = 0;
  vars: string[] = ["$"];
  actionLine = 0;
  rangeDepth = 0;
  depth = 0;
  root: ListNode | null = null;

  constructor(
    public name: string,
    readonly parseName: string,
    readonly info: TreeInfo,
    readonly lex: Lexer,
    readonly opts: ParseOptions,
    readonly treeSet: Map<string, Tree>,
  ) {}

  /** A parser for a nested define/block sharing this one's lexer and token state. */
  private child(name: string): Parser {
    const c = new Parser(name, this.parseName, this.info, this.lex, this.opts, this.treeSet);
    // Go's nested trees start with a fresh token buffer but the same lexer.
    c.depth = this.depth;
    return c;
  }

  // ---- token buffer (three-token lookahead) ----

  next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.lex.nextItem();
    return this.token[this.peekCount] as Item;
  }

  backup(): void {
    this.peekCount++;
  }

  backup2(t1: Item): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }

  backup3(t2: Item, t1: Item): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }

  peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1] as Item;
    this.peekCount = 1;
    this.token[0] = this.lex.nextItem();
    return this.token[0];
  }

  nextNonSpace(): Item {
    let token: Item;
    do token = this.next();
    while (token.typ === T.Space);
    return token;
  }

  peekNonSpace(): Item {
    const token = this.nextNonSpace();
    this.backup();
    return token;
  }

  // ---- errors ----

  errorf(msg: string): never {
    this.root = null;
    const line = (this.token[0] as Item).line;
    throw new ParseError(`template: ${this.parseName}:${line}: ${msg}`, this.parseName, line);
  }

  expect(expected: T, context: string): Item {
    const token = this.nextNonSpace();
    if (token.typ !== expected) this.unexpected(token, context);
    return token;
  }

  expectOneOf(e1: T, e2: T, context: string): Item {
    const token = this.nextNonSpace();
    if (token.typ !== e1 && token.typ !== e2) this.unexpected(token, context);
    return token;
  }

  unexpected(token: Item, context: string): never {
    if (token.typ === T.Error) {
      let extra = "";
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (token.val.endsWith(" action")) extra = extra.slice(" in action".length);
      }
      this.errorf(`${itemString(token)}${extra}`);
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`);
  }

  private enter(): void {
    if (++this.depth > MAX_PARSE_DEPTH) this.errorf("max expression depth exceeded");
  }

  // ---- node constructors ----

  newList(pos: number): ListNode {
    return { type: "list", pos, tree: this.info, nodes: [] };
  }

  // ---- the grammar ----

  add(): void {
    const tree = this.treeSet.get(this.name);
    if (tree === undefined || isEmptyTree(tree.root)) {
      this.treeSet.set(this.name, {
        name: this.name,
        parseName: this.parseName,
        root: this.root,
        info: this.info,
      });
      return;
    }
    if (!isEmptyTree(this.root))
      this.errorf(`template: multiple definition of template ${quote(this.name)}`);
  }

  parseRoot(): void {
    this.root = this.newList(this.peek().pos);
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === T.Define) {
          const newT = this.child("definition");
          newT.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === "end" || n.type === "else") this.errorf(`unexpected ${nodeString(n)}`);
      this.root.nodes.push(n);
    }
    this.add();
  }

  parseDefinition(): void {
    const context = "define clause";
    const name = this.expectOneOf(T.String, T.RawString, context);
    this.name = this.unquoteOrFail(name.val);
    this.expect(T.RightDelim, context);
    const [list, end] = this.itemList();
    this.root = list;
    if (end.type !== "end") this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add();
  }

  unquoteOrFail(s: string): string {
    try {
      return unquote(s);
    } catch (e) {
      this.errorf((e as Error).message);
    }
  }

  itemList(): [ListNode, Node] {
    const list = this.newList(this.peekNonSpace().pos);
    while (this.peekNonSpace().typ !== T.EOF) {
      const n = this.textOrAction();
      if (n.type === "end" || n.type === "else") return [list, n];
      list.nodes.push(n);
    }
    this.errorf("unexpected EOF");
  }

  textOrAction(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Text:
        return { type: "text", pos: token.pos, tree: this.info, text: token.val };
      case T.LeftDelim: {
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      case T.Comment:
        return { type: "comment", pos: token.pos, tree: this.info, text: token.val };
      default:
        this.unexpected(token, "input");
    }
  }

  action(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Block:
        return this.blockControl();
      case T.Break:
        return this.breakControl(token.pos, token.line, "break");
      case T.Continue:
        return this.breakControl(token.pos, token.line, "continue");
      case T.Else:
        return this.elseControl();
      case T.End:
        return this.endControl();
      case T.If:
        return this.branchControl("if");
      case T.Range:
        return this.branchControl("range");
      case T.Template:
        return this.templateControl();
      case T.With:
        return this.branchControl("with");
    }
    this.backup();
    const t = this.peek();
    const pipe = this.pipeline("command", T.RightDelim);
    return { type: "action", pos: t.pos, line: t.line, tree: this.info, pipe };
  }

  breakControl(pos: number, line: number, kind: "break" | "continue"): Node {
    const token = this.nextNonSpace();
    if (token.typ !== T.RightDelim) this.unexpected(token, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kind}}} outside {{range}}`);
    return { type: kind, pos, line, tree: this.info };
  }

  pipeline(context: string, end: T): PipeNode {
    const token = this.peekNonSpace();
    const pipe: PipeNode = {
      type: "pipe",
      pos: token.pos,
      line: token.line,
      tree: this.info,
      isAssign: false,
      decl: [],
      cmds: [],
    };
    this.decls(pipe, context);
    for (;;) {
      const token = this.nextNonSpace();
      switch (token.typ) {
        case end:
          this.checkPipeline(pipe, context);
          return pipe;
        case T.Bool:
        case T.CharConstant:
        case T.Complex:
        case T.Dot:
        case T.Field:
        case T.Identifier:
        case T.Number:
        case T.Nil:
        case T.RawString:
        case T.String:
        case T.Variable:
        case T.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(token, context);
      }
    }
  }

  private decls(pipe: PipeNode, context: string): void {
    for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== T.Variable) return;
      this.next();
      const tokenAfterVariable = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === T.Assign || next.typ === T.Declare) {
        pipe.isAssign = next.typ === T.Assign;
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
        return;
      }
      if (next.typ === T.Char && next.val === ",") {
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
        if (context === "range" && pipe.decl.length < 2) {
          const t = this.peekNonSpace().typ;
          if (t === T.Variable || t === T.RightDelim || t === T.RightParen) continue;
          this.errorf("range can only initialize variables");
        }
        this.errorf(`too many declarations in ${context}`);
      }
      if (tokenAfterVariable.typ === T.Space) this.backup3(v, tokenAfterVariable);
      else this.backup2(v);
      return;
    }
  }

  checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    for (let i = 1; i < pipe.cmds.length; i++) {
      const t = ((pipe.cmds[i] as CommandNode).args[0] as Node).type;
      if (t === "bool" || t === "dot" || t === "nil" || t === "number" || t === "string") {
        this.errorf(`non executable command in pipeline stage ${i + 1}`);
      }
    }
  }

  branchControl(kind: "if" | "range" | "with"): BranchNode {
    this.enter();
    const nvars = this.vars.length;
    try {
      const pipe = this.pipeline(kind, T.RightDelim);
      if (kind === "range") this.rangeDepth++;
      let [list, next] = this.itemList();
      if (kind === "range") this.rangeDepth--;
      let elseList: ListNode | null = null;
      if (next.type === "else") {
        if (kind === "if" && this.peek().typ === T.If) {
          this.next();
          elseList = this.newList(next.pos);
          elseList.nodes.push(this.branchControl("if"));
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== "end") this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      return { type: kind, pos: pipe.pos, line: pipe.line, tree: this.info, pipe, list, elseList };
    } finally {
      this.vars.length = nvars;
      this.depth--;
    }
  }

  endControl(): EndNode {
    return { type: "end", pos: this.expect(T.RightDelim, "end").pos, tree: this.info };
  }

  elseControl(): ElseNode {
    const peek = this.peekNonSpace();
    if (peek.typ === T.If) return { type: "else", pos: peek.pos, line: peek.line, tree: this.info };
    const token = this.expect(T.RightDelim, "else");
    return { type: "else", pos: token.pos, line: token.line, tree: this.info };
  }

  blockControl(): TemplateNode {
    const context = "block clause";
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    const pipe = this.pipeline(context, T.RightDelim);
    const block = this.child(name);
    this.enter();
    const [list, end] = block.itemList();
    this.depth--;
    block.root = list;
    if (end.type !== "end") this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    block.add();
    return { type: "template", pos: token.pos, line: token.line, tree: this.info, name, pipe };
  }

  templateControl(): TemplateNode {
    const context = "template clause";
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== T.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, T.RightDelim);
    }
    return { type: "template", pos: token.pos, line: token.line, tree: this.info, name, pipe };
  }

  parseTemplateName(token: Item, context: string): string {
    if (token.typ === T.String || token.typ === T.RawString) return this.unquoteOrFail(token.val);
    this.unexpected(token, context);
  }

  command(): CommandNode {
    const cmd: CommandNode = {
      type: "command",
      pos: this.peekNonSpace().pos,
      tree: this.info,
      args: [],
    };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const token = this.next();
      if (token.typ === T.Space) continue;
      if (token.typ === T.RightDelim || token.typ === T.RightParen) this.backup();
      else if (token.typ !== T.Pipe) this.unexpected(token, "operand");
      break;
    }
    if (cmd.args.length === 0) this.errorf("empty command");
    return cmd;
  }

  operand(): Node | null {
    let node = this.term();
    if (node === null) return null;
    if (this.peek().typ === T.Field) {
      const chain: ChainNode = {
        type: "chain",
        pos: this.peek().pos,
        tree: this.info,
        node,
        field: [],
      };
      while (this.peek().typ === T.Field) chain.field.push(this.next().val.slice(1));
      switch (node.type) {
        case "field":
          node = this.newField(chain.pos, nodeString(chain));
          break;
        case "variable":
          node = this.newVariable(chain.pos, nodeString(chain));
          break;
        case "bool":
        case "string":
        case "number":
        case "nil":
        case "dot":
          return this.errorf(`unexpected . after term ${quote(nodeString(node))}`);
        default:
          node = chain;
      }
    }
    return node;
  }

  term(): Node | null {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Identifier:
        if (!this.opts.hasFunction(token.val))
          this.errorf(`function ${quote(token.val)} not defined`);
        return { type: "identifier", pos: token.pos, tree: this.info, ident: token.val };
      case T.Dot:
        return { type: "dot", pos: token.pos, tree: this.info };
      case T.Nil:
        return { type: "nil", pos: token.pos, tree: this.info };
      case T.Variable:
        return this.useVar(token.pos, token.val);
      case T.Field:
        return this.newField(token.pos, token.val);
      case T.Bool:
        return { type: "bool", pos: token.pos, tree: this.info, value: token.val === "true" };
      case T.CharConstant:
      case T.Complex:
      case T.Number:
        return this.newNumber(token.pos, token.val, token.typ);
      case T.LeftParen: {
        this.enter();
        const pipe = this.pipeline("parenthesized pipeline", T.RightParen);
        this.depth--;
        return pipe;
      }
      case T.String:
      case T.RawString:
        return {
          type: "string",
          pos: token.pos,
          tree: this.info,
          quoted: token.val,
          text: this.unquoteOrFail(token.val),
        };
    }
    this.backup();
    return null;
  }

  newVariable(pos: number, ident: string): VariableNode {
    return { type: "variable", pos, tree: this.info, ident: ident.split(".") };
  }

  newField(pos: number, ident: string): Node {
    return { type: "field", pos, tree: this.info, ident: ident.slice(1).split(".") };
  }

  useVar(pos: number, name: string): VariableNode {
    const v = this.newVariable(pos, name);
    if (!this.vars.includes(v.ident[0] as string))
      this.errorf(`undefined variable ${quote(v.ident[0] as string)}`);
    return v;
  }

  newNumber(pos: number, text: string, typ: T): NumberNode {
    const n: NumberNode = {
      type: "number",
      pos,
      tree: this.info,
      isInt: false,
      isUint: false,
      isFloat: false,
      isComplex: false,
      int64: 0n,
      uint64: 0n,
      float64: 0,
      re: 0,
      im: 0,
      text,
    };
    if (typ === T.CharConstant) {
      let r: number;
      let tail: string;
      try {
        [r, tail] = unquoteChar(text.slice(1), "'");
      } catch (e) {
        this.errorf((e as Error).message);
      }
      if (tail !== "'") this.errorf(`malformed character constant: ${text}`);
      n.int64 = BigInt(r);
      n.uint64 = n.int64;
      n.float64 = r;
      n.isInt = n.isUint = n.isFloat = true;
      return n;
    }
    if (typ === T.Complex) {
      const c = parseComplex(text);
      if (c === null) this.errorf(`expected integer`);
      n.isComplex = true;
      [n.re, n.im] = c;
      simplifyComplex(n);
      return n;
    }
    if (text.endsWith("i")) {
      const f = parseFloat64(text.slice(0, -1));
      if (f !== null) {
        n.isComplex = true;
        n.re = 0;
        n.im = f;
        simplifyComplex(n);
        return n;
      }
    }
    const u = parseUint0(text);
    if (u !== null) {
      n.isUint = true;
      n.uint64 = u;
    }
    const i = parseInt0(text);
    if (i !== null) {
      n.isInt = true;
      n.int64 = i;
      if (i === 0n) {
        n.isUint = true;
        n.uint64 = u ?? 0n;
      }
    }
    if (n.isInt) {
      n.isFloat = true;
      n.float64 = Number(n.int64);
    } else if (n.isUint) {
      n.isFloat = true;
      n.float64 = Number(n.uint64);
    } else {
      const f = parseFloat64(text);
      if (f !== null) {
        if (!/[.eEpP]/.test(text)) this.errorf(`integer overflow: ${quote(text)}`);
        n.isFloat = true;
        n.float64 = f;
        setIntegralFromFloat(n, f, true);
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) this.errorf(`illegal number syntax: ${quote(text)}`);
    return n;
  }
}

const TWO63 = 2 ** 63;
const TWO64 = 2 ** 64;

/** Go's float64(int64(f)) == f and float64(uint64(f)) == f checks. */
function setIntegralFromFloat(n: NumberNode, f: number, onlyIfUnset: boolean): void {
  if (Number.isInteger(f) && f >= -TWO63 && f < TWO63 && (!onlyIfUnset || !n.isInt)) {
    n.isInt = true;
    n.int64 = BigInt(f);
  }
  if (Number.isInteger(f) && f >= 0 && f < TWO64 && (!onlyIfUnset || !n.isUint)) {
    n.isUint = true;
    n.uint64 = BigInt(f);
  }
}

function simplifyComplex(n: NumberNode): void {
  n.isFloat = n.im === 0;
  if (n.isFloat) {
    n.float64 = n.re;
    setIntegralFromFloat(n, n.re, false);
  }
}

/** fmt.Sscan of a complex128 as the lexer delivers it: REAL(+|-)IMAGi. */
function parseComplex(text: string): [number, number] | null {
  let k = -1;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    const prev = (text[i - 1] as string).toLowerCase();
    if ((c === "+" || c === "-") && prev !== "e" && prev !== "p") {
      k = i;
      break;
    }
  }
  if (k < 0 || !text.endsWith("i")) return null;
  const re = parseFloat64(text.slice(0, k));
  const im = parseFloat64(text.slice(k, -1));
  if (re === null || im === null) return null;
  return [re, im];
}
