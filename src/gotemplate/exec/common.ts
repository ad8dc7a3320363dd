// What associated templates share (Go's template.common): the name -> template
// map, the function map and the options.

import type { Tree } from "../parse/parser.js";
import type { FuncEntry } from "./func-entry.js";

export enum MissingKey {
  Invalid = 0,
  Zero = 1,
  Error = 2,
}

/** The view of a template that exec needs. */
export interface ExecTemplate {
  readonly name: string;
  tree: Tree | null;
}

export interface Common {
  tmpl: Map<string, ExecTemplate>;
  /** User functions (Go's execFuncs), consulted before the builtins. */
  funcs: Map<string, FuncEntry>;
  missingKey: MissingKey;
  /** Bumped whenever funcs change, so compiled trees re-resolve function names. */
  version: number;
}
