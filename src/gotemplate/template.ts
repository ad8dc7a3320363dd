// The public Template: Go's text/template.Template API (New, Parse, Execute,
// ExecuteTemplate, Lookup, Funcs, Option, Delims, Templates) over the
// parser and the closure compiler.

import { quote } from "../golib/quote.js";
import { BUILTINS } from "./builtins/index.js";
import { ExecError, ParseError, TemplateError } from "./errors.js";
import { type Common, MissingKey } from "./exec/common.js";
import { compiledFor } from "./exec/compile.js";
import { State } from "./exec/state.js";
import { funcEntry, isGoodFuncName } from "./funcs.js";
import { isEmptyTree } from "./parse/ast.js";
import { parse, type Tree } from "./parse/parser.js";
import type { FuncMap, GoFunc } from "./value.js";

export type MissingKeyOption = "default" | "invalid" | "zero" | "error";

export interface TemplateOptions {
  /** Action delimiters; "" means the default "{{" / "}}". */
  delims?: readonly [string, string];
  /** One of MissingKeyOption; anything else is rejected like Go's Option. */
  missingKey?: MissingKeyOption | (string & {});
  funcs?: FuncMap | Record<string, GoFunc | ((...args: never[]) => unknown)>;
}

export class Template {
  /** @internal shared with associated templates (Go's common). */
  private common: Common;
  /** @internal the parse tree, null until parsed. */
  tree: Tree | null = null;
  private leftDelim = "";
  private rightDelim = "";

  constructor(
    readonly name: string,
    opts: TemplateOptions = {},
    common?: Common,
  ) {
    this.common = common ?? {
      tmpl: new Map(),
      funcs: new Map(),
      missingKey: MissingKey.Invalid,
      version: 0,
    };
    if (opts.delims) this.delims(opts.delims[0], opts.delims[1]);
    if (opts.missingKey) this.option(`missingkey=${opts.missingKey}`);
    if (opts.funcs) this.funcs(opts.funcs);
  }

  /** Go's Name(). */
  getName(): string {
    return this.name;
  }

  /** Go's New: a new template associated with this one (same functions, options and set). */
  new(name: string): Template {
    const t = new Template(name, {}, this.common);
    t.leftDelim = this.leftDelim;
    t.rightDelim = this.rightDelim;
    return t;
  }

  /** Go's Delims: "" means the default. */
  delims(left: string, right: string): this {
    this.leftDelim = left;
    this.rightDelim = right;
    return this;
  }

  /** Go's Funcs: adds functions (before Parse, so the parser knows their names). */
  funcs(map: Record<string, GoFunc | ((...args: never[]) => unknown)>): this {
    for (const [name, f] of Object.entries(map)) {
      if (!isGoodFuncName(name))
        throw new TemplateError(
          `function name ${quote(name)} is not a valid identifier`,
          this.name,
          0,
        );
      if (
        typeof f !== "function" &&
        (typeof f !== "object" || f === null || typeof f.fn !== "function")
      ) {
        throw new TemplateError(`value for ${name} not a function`, this.name, 0);
      }
      this.common.funcs.set(name, funcEntry(name, f));
    }
    this.common.version++;
    return this;
  }

  /** Go's Option: "missingkey=default|invalid|zero|error". */
  option(...opts: string[]): this {
    for (const opt of opts) {
      if (opt === "") throw new TemplateError("empty option string", this.name, 0);
      const eq = opt.indexOf("=");
      const key = eq < 0 ? opt : opt.slice(0, eq);
      const value = eq < 0 ? null : opt.slice(eq + 1);
      if (key === "missingkey" && value !== null) {
        const mk = (
          {
            invalid: MissingKey.Invalid,
            default: MissingKey.Invalid,
            zero: MissingKey.Zero,
            error: MissingKey.Error,
          } as Record<string, MissingKey>
        )[value];
        if (
          mk !== undefined &&
          Object.hasOwn({ invalid: 1, default: 1, zero: 1, error: 1 }, value)
        ) {
          this.common.missingKey = mk;
          continue;
        }
      }
      throw new TemplateError(`unrecognized option: ${opt}`, this.name, 0);
    }
    return this;
  }

  /** Go's Parse: parses text as this template's body; {{define}}s become associated templates. Throws ParseError. */
  parse(text: string): this {
    const trees = new Map<string, Tree>();
    const funcs = this.common.funcs;
    try {
      parse(
        this.name,
        text,
        {
          leftDelim: this.leftDelim,
          rightDelim: this.rightDelim,
          hasFunction: (n) => funcs.has(n) || BUILTINS.has(n),
        },
        trees,
      );
    } catch (e) {
      // The depth bound normally stops deep nesting first; a small JS stack must not leak a RangeError.
      if (e instanceof RangeError)
        throw new ParseError(`template: ${this.name}: nesting too deep`, this.name, 0);
      throw e;
    }
    for (const [name, tree] of trees) this.addParseTree(name, tree);
    return this;
  }

  private addParseTree(name: string, tree: Tree): void {
    const nt = name === this.name ? this : this.new(name);
    const old = this.common.tmpl.get(name);
    if (old !== undefined && isEmptyTree(tree.root) && old.tree !== null) {
      if (nt.tree === null) nt.tree = tree;
      return;
    }
    this.common.tmpl.set(name, nt);
    nt.tree = tree;
  }

  /** Go's Lookup. */
  lookup(name: string): Template | undefined {
    const t = this.common.tmpl.get(name);
    return t instanceof Template ? t : undefined;
  }

  /** Go's Templates: every template of the set, this one included once parsed. */
  templates(): Template[] {
    return [...this.common.tmpl.values()].filter((t): t is Template => t instanceof Template);
  }

  /** Go's DefinedTemplates: "; defined templates are: ..." or "". */
  definedTemplates(): string {
    const names = this.templates()
      .filter((t) => t.tree?.root)
      .map((t) => quote(t.name));
    return names.length ? `; defined templates are: ${names.join(", ")}` : "";
  }

  /** Go's Execute: renders this template with `data` as dot. Throws ExecError. */
  execute(data: unknown): string {
    const s = new State(this.common, this.name);
    const dot = data === null ? undefined : data;
    const tree = this.tree;
    if (tree === null || tree.root === null)
      return s.errorf(`${quote(this.name)} is an incomplete or empty template`);
    try {
      compiledFor(tree, this.common).run(s, dot);
    } catch (e) {
      // A JS stack overflow (deeply nested data being printed, or templates
      // recursing below MAX_EXEC_DEPTH on a small stack) becomes an ExecError.
      if (e instanceof RangeError) return s.errorf("nesting too deep (JavaScript stack exhausted)");
      throw e;
    }
    return s.out;
  }

  /** Go's ExecuteTemplate. */
  executeTemplate(name: string, data: unknown): string {
    const t = this.lookup(name);
    if (t === undefined) {
      throw new ExecError(
        `template: no template ${quote(name)} associated with template ${quote(this.name)}`,
        this.name,
        0,
        -1,
      );
    }
    return t.execute(data);
  }
}
