// A hand-written equivalent of Go's flag package (ContinueOnError):
// "-f" and "--f" are the same; "-f=v" or "-f v" for valued flags; bool flags
// take only "-f" or "-f=value"; parsing stops at the first non-flag argument
// ("-" alone is one) or after "--". Repeatable flags accumulate in order,
// others keep the last value.

import { parseDuration } from "./duration.js";

export type FlagKind = "bool" | "string" | "list" | "duration";

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly usage: string;
  /** Shown in usage as the value placeholder. */
  readonly arg?: string;
  /** Default as Go prints it in usage ("10s"); absent = no default shown. */
  readonly defaultText?: string;
}

export type FlagValue = boolean | string | string[] | number;

export interface ParsedFlags {
  /** Values of the flags that were set, by name (durations in ms). */
  readonly values: Map<string, FlagValue>;
  /** Arguments after the flags: the command and its arguments. */
  readonly args: string[];
}

/** A command-line error: Go prints the message, then the usage, exit 2. */
export class FlagError extends Error {
  override name = "FlagError";
}

/** -h or -help was given: print usage, exit 0. */
export class HelpRequested extends Error {
  override name = "HelpRequested";
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

export function parseGoBool(text: string): boolean | undefined {
  if (GO_TRUE.has(text)) return true;
  if (GO_FALSE.has(text)) return false;
  return undefined;
}

export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, FlagValue>();
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i];
    if (arg.length < 2 || arg[0] !== "-") break;
    let body = arg.slice(1);
    if (body[0] === "-") {
      body = body.slice(1);
      if (body === "") {
        i++; // "--" ends the flags and is consumed
        break;
      }
    }
    if (body === "" || body[0] === "-" || body[0] === "=") {
      throw new FlagError(`bad flag syntax: ${arg}`);
    }
    i++;
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = byName.get(name);
    if (spec === undefined) {
      if (name === "h" || name === "help") throw new HelpRequested();
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
    if (spec.kind === "bool") {
      const v = inline === undefined ? true : parseGoBool(inline);
      if (v === undefined) {
        throw new FlagError(`invalid boolean value "${inline}" for -${name}: parse error`);
      }
      values.set(name, v);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      value = argv[i++];
    }
    setValue(values, spec, value);
  }
  return { values, args: argv.slice(i) };
}

function setValue(values: Map<string, FlagValue>, spec: FlagSpec, value: string): void {
  if (spec.kind === "list") {
    const list = (values.get(spec.name) as string[] | undefined) ?? [];
    list.push(value);
    values.set(spec.name, list);
  } else if (spec.kind === "duration") {
    const ms = parseDuration(value);
    if (ms === undefined) {
      throw new FlagError(`invalid value "${value}" for flag -${spec.name}: parse error`);
    }
    values.set(spec.name, ms);
  } else {
    values.set(spec.name, value);
  }
}
