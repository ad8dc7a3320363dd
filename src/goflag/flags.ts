// Go's `flag` package (ContinueOnError), for the command lines of domeize and
// domeos-confd: "-f" and "--f" are the same; "-f=v" or "-f v" for valued
// flags; bool flags take only "-f" or "-f=value"; parsing stops at the first
// non-flag argument ("-" alone is one) or after "--". List flags accumulate in
// order, others keep the last value. Errors carry Go's messages.
// Deliberately small and dependency-free: domeize parses flags at startup.

import { DurationError, mustParseDuration } from "../golib/duration.js";
import { quote as goQuote } from "../golib/quote.js";

export type FlagKind = "bool" | "string" | "int" | "list" | "duration";

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly usage: string;
  /** Value placeholder for a custom usage layout (domeize's). */
  readonly arg?: string;
  /** Default as Go prints it in usage ("10s", "600"); absent = none shown. */
  readonly defaultText?: string;
}

/** bool, string, int (number), list (string[]) or duration (milliseconds). */
export type FlagValue = boolean | string | string[] | number;

export interface ParsedFlags {
  /** Values of the flags given on the command line, by name; absent = not given. */
  readonly values: Map<string, FlagValue>;
  /** The arguments after the flags. */
  readonly args: string[];
}

/** A command-line error: Go prints the message, then the usage, exit 2. */
export class FlagError extends Error {
  override name = "FlagError";
  /**
   * What exactly was wrong, beyond Go's message (which stays as Go prints
   * it): a duration's missing unit, e.g. For programs that add a hint.
   */
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** -h or -help was given (and not defined as a flag): Go's flag.ErrHelp. */
export class HelpRequested extends Error {
  override name = "HelpRequested";
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** strconv.ParseBool. */
export function parseGoBool(text: string): boolean | undefined {
  if (GO_TRUE.has(text)) return true;
  if (GO_FALSE.has(text)) return false;
  return undefined;
}

// strconv.ParseInt(s, 0, 64) syntax: base prefixes, "_" between digits.
const GO_INT =
  /^[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*|[1-9](?:_?\d)*)$/;

/** strconv.ParseInt(text, 0, 64) as a flag sees it: the value, or Go's error reason. */
export function parseGoInt(text: string): number | "parse error" | "value out of range" {
  if (!GO_INT.test(text)) return "parse error";
  const neg = text[0] === "-";
  let body = text.replace(/^[+-]/, "").replaceAll("_", "");
  if (/^0[0-7]/.test(body)) body = `0o${body.slice(1)}`; // leading 0 = octal
  const v = neg ? -BigInt(body) : BigInt(body);
  if (v > (1n << 63n) - 1n || v < -(1n << 63n)) return "value out of range";
  return Number(v);
}

/** Parses argv against specs like Go's FlagSet.Parse; throws FlagError or HelpRequested. */
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
        throw new FlagError(
          `invalid boolean value ${goQuote(inline ?? "")} for -${name}: parse error`,
        );
      }
      values.set(name, v);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      value = argv[i++];
    }
    values.set(name, convert(spec, value, values.get(name)));
  }
  return { values, args: argv.slice(i) };
}

/** time's message without its "time: " prefix; a bare number gets an example with a unit. */
function durationHint(message: string, value: string): string {
  const text = message.replace(/^time: /, "");
  return /^[+-]?\d+(\.\d+)?$/.test(value) ? `${text}, e.g. ${value.replace(/^\+/, "")}s` : text;
}

function convert(spec: FlagSpec, value: string, prev: FlagValue | undefined): FlagValue {
  const invalid = (reason: string, detail?: string) =>
    new FlagError(`invalid value ${goQuote(value)} for flag -${spec.name}: ${reason}`, detail);
  switch (spec.kind) {
    case "list":
      return [...((prev as string[] | undefined) ?? []), value];
    case "duration": {
      try {
        return mustParseDuration(value);
      } catch (err) {
        if (!(err instanceof DurationError)) throw err;
        throw invalid("parse error", durationHint(err.message, value));
      }
    }
    case "int": {
      const n = parseGoInt(value);
      if (typeof n === "string") throw invalid(n);
      return n;
    }
    default:
      return value;
  }
}
