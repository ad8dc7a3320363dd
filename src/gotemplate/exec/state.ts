// Execution state shared by the compiled closures of one Execute call:
// the output, Go's "current node" for error messages, and the template stack.

import { quote } from "../../golib/quote.js";
import { ExecError } from "../errors.js";
import type { Node } from "../parse/ast.js";
import { errorContext } from "../parse/ast.js";
import type { Common } from "./common.js";

/** Go's maxExecDepth is 100000; JavaScript stacks are smaller, so the bound is lower. */
export const MAX_EXEC_DEPTH = 1500;

export class State {
  out = "";
  /** The node being evaluated (Go's s.at(node)), for error locations. */
  node: Node | null = null;
  /** Name of the executing template (changes inside {{template}}). */
  name: string;
  depth = 0;
  /** Is dot an element of an interface{} container (range over []interface{})? Only error texts use it. */
  dotIface = false;

  constructor(
    readonly common: Common,
    name: string,
  ) {
    this.name = name;
  }

  /** Go's state.errorf: throws an ExecError located at the current node. */
  errorf(msg: string): never {
    const n = this.node;
    if (n === null) throw new ExecError(`template: ${this.name}: ${msg}`, this.name, 0, -1);
    const { location, context } = errorContext(n);
    const parts = location.split(":");
    const col = Number(parts.pop());
    const line = Number(parts.pop());
    throw new ExecError(
      `template: ${location}: executing ${quote(this.name)} at <${context}>: ${msg}`,
      this.name,
      line,
      col,
    );
  }
}
