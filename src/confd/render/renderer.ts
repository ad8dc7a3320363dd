// Renders one resource's template from its KeySpace. The template file is
// parsed once and re-parsed only when it changes on disk (confd re-parses on
// every render). A failed execution names the key whose value broke it (the
// pod), so one malformed object is found at once.

import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { Template } from "../../gotemplate/index.js";
import { type ConfdFuncSet, confdFuncs, type SystemOptions } from "../funcs/index.js";
import type { KeySpace } from "../template/key-space.js";

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

export class Renderer {
  private template: Template | null = null;
  private loadedMtime = -1;
  private loadedSize = -1;
  private readonly set: ConfdFuncSet;

  constructor(
    readonly templatePath: string,
    readonly keySpace: KeySpace,
    sys: SystemOptions = {},
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
    this.loadedMtime = st.mtimeMs;
    this.loadedSize = st.size;
    return t;
  }

  /** Executes with data nil (as confd). */
  render(): string {
    const t = this.load();
    const trace = this.set.trace;
    trace.key = undefined;
    trace.jsonInput = undefined;
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
