// Renders one resource's template from its KeySpace. The template file is
// parsed once and re-parsed only when it changes on disk (confd re-parses on
// every render). A failed execution names the key whose value broke it (the
// pod), so one malformed object is found at once.

import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { Template } from "../../gotemplate/index.js";
import type { FuncMap } from "../../gotemplate/value.js";
import { type ConfdFuncSet, confdFuncs, type SystemOptions } from "../funcs/index.js";
import type { KeySpace } from "../template/key-space.js";
import { planRangeMemo } from "./range-memo.js";
import { memoFunc, RangeMemoCache } from "./range-memo-funcs.js";

export class RenderError extends Error {
  override name = "RenderError";
  constructor(
    message: string,
    /** Backend keys whose value was being processed when it failed. */
    readonly keys: string[] = [],
  ) {
    super(message);
  }
}

export interface RendererOptions {
  /** Re-execute only the range iterations whose pair changed (default true; see range-memo.ts). */
  rangeMemo?: boolean;
}

/** The rewritten template and the caches of its memoized ranges. */
interface Memoized {
  template: Template;
  caches: RangeMemoCache[];
}

export class Renderer {
  private template: Template | null = null;
  private memo: Memoized | null = null;
  private loadedMtime = -1;
  private loadedSize = -1;
  private readonly set: ConfdFuncSet;
  /** Bumped each time the template file is (re)parsed. */
  generation = 0;

  constructor(
    readonly templatePath: string,
    readonly keySpace: KeySpace,
    sys: SystemOptions = {},
    private readonly opts: RendererOptions = {},
  ) {
    this.set = confdFuncs(keySpace, sys);
  }

  /** Parses the template if it is new or changed; throws RenderError with confd's wording. */
  load(): Template {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(this.templatePath);
    } catch {
      throw new RenderError(`Missing template: ${this.templatePath}`);
    }
    if (this.template && st.mtimeMs === this.loadedMtime && st.size === this.loadedSize)
      return this.template;
    const text = readFileSync(this.templatePath, "utf8");
    const t = new Template(basename(this.templatePath), { funcs: this.set.funcs });
    try {
      t.parse(text);
    } catch (err) {
      throw new RenderError(
        `Unable to process template ${this.templatePath}, ${(err as Error).message}`,
      );
    }
    this.template = t;
    this.memo = this.opts.rangeMemo === false ? null : this.memoize(text);
    // With memoized ranges, a decode is used once per changed pair: keeping
    // every pod's decoded object (~65 MB at 10,000 pods) would buy nothing.
    this.set.json.keep = this.memo === null;
    if (this.memo) this.set.json.clear();
    this.loadedMtime = st.mtimeMs;
    this.loadedSize = st.size;
    this.generation++;
    return t;
  }

  /** The range-memo rewrite of `text`, or null when the template has no memoizable range. */
  private memoize(text: string): Memoized | null {
    const plan = planRangeMemo(text, this.set.funcs);
    if (!plan) return null;
    const name = basename(this.templatePath);
    const funcs: FuncMap = { ...this.set.funcs };
    const caches: RangeMemoCache[] = [];
    try {
      for (const r of plan.ranges) {
        const body = new Template(name, { funcs: this.set.funcs });
        body.parse(r.body);
        const cache = new RangeMemoCache(body);
        caches.push(cache);
        funcs[r.funcName] = memoFunc(cache, r.whole, this.set.funcs);
      }
      const template = new Template(name, { funcs });
      template.parse(plan.text);
      return { template, caches };
    } catch {
      return null; // the body alone does not parse (e.g. it defines templates): render in full
    }
  }

  /** Executes with data nil (as confd). */
  render(): string {
    const t = this.load();
    const trace = this.set.trace;
    trace.key = undefined;
    trace.jsonInput = undefined;
    if (this.memo) {
      const out = this.renderMemoized(this.memo);
      if (out !== null) return out;
    }
    try {
      const out = t.execute(null);
      this.set.json.sweep();
      return out;
    } catch (err) {
      const keys = this.blame();
      const where = keys.length > 0 ? ` (while processing key ${keys.join(", ")})` : "";
      throw new RenderError(`${(err as Error).message}${where}`, keys);
    }
  }

  /** Renders through the memo; null on any failure (the full render then reports it as confd would). */
  private renderMemoized(memo: Memoized): string | null {
    try {
      return memo.template.execute(null);
    } catch {
      for (const cache of memo.caches) cache.clear();
      return null;
    }
  }

  /** Backend keys of the value the template was decoding (or reading) when it failed. */
  private blame(): string[] {
    const trace = this.set.trace;
    if (trace.jsonInput !== undefined) {
      const keys = this.keySpace.rawKeysWithValue(trace.jsonInput);
      if (keys.length > 0) return keys.slice(0, 5);
    }
    if (trace.key !== undefined) {
      const e = this.keySpace.get(trace.key);
      return [e ? e.raw : trace.key];
    }
    return [];
  }
}
