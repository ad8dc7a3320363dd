// Turns argv into validated Options. Everything that can be checked without
// touching the outside world is checked here, before any port is reported.

import { FlagError, type FlagValue, parseFlags } from "../../goflag/flags.js";
import {
  parseWaitHeader,
  parseWaitTarget,
  type WaitHeader,
  type WaitTarget,
} from "../wait/targets.js";
import { FLAG_SPECS } from "./specs.js";

export interface Options {
  readonly templates: string[];
  readonly noOverwrite: boolean;
  readonly stdoutTails: string[];
  readonly stderrTails: string[];
  readonly poll: boolean;
  readonly delims: readonly [string, string];
  readonly waits: WaitTarget[];
  readonly waitHeaders: WaitHeader[];
  readonly waitRetryMs: number;
  readonly timeoutMs: number;
  /** undefined = not given on the command line (env or default applies). */
  readonly reportDeadlineMs: number | undefined;
  readonly reportTimeoutMs: number | undefined;
  readonly graceMs: number;
  readonly version: boolean;
  /** The command and its arguments (may be empty). */
  readonly command: string[];
  /** True when argv was empty: usage, exit 2. */
  readonly empty: boolean;
}

function list(values: Map<string, FlagValue>, name: string): string[] {
  return (values.get(name) as string[] | undefined) ?? [];
}

function duration(values: Map<string, FlagValue>, name: string, dflt: number): number {
  const v = values.get(name) as number | undefined;
  if (v === undefined) return dflt;
  if (v < 0) throw new FlagError(`invalid value for flag -${name}: negative duration`);
  return v;
}

export function parseDelims(text: string | undefined): [string, string] {
  if (text === undefined) return ["{{", "}}"];
  const parts = text.split(":");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new FlagError(
      `bad delimiters argument: "${text}". expected "left:right" with one ":", e.g. "<%:%>"`,
    );
  }
  return [parts[0], parts[1]];
}

export function parseOptions(argv: readonly string[]): Options {
  const { values, args } = parseFlags(FLAG_SPECS, argv);
  const waits = list(values, "wait").map(parseWaitTarget);
  const waitHeaders = list(values, "wait-http-header").map(parseWaitHeader);
  if (waitHeaders.length > 0 && !waits.some((w) => w.kind === "http")) {
    throw new FlagError("-wait-http-header given without an http(s) -wait");
  }
  const opt = (name: string) => (values.has(name) ? duration(values, name, 0) : undefined);
  return {
    templates: list(values, "template"),
    noOverwrite: values.get("no-overwrite") === true,
    stdoutTails: list(values, "stdout"),
    stderrTails: list(values, "stderr"),
    poll: values.get("poll") === true,
    delims: parseDelims(values.get("delims") as string | undefined),
    waits,
    waitHeaders,
    waitRetryMs: duration(values, "wait-retry-interval", 1000),
    timeoutMs: duration(values, "timeout", 10_000),
    reportDeadlineMs: opt("report-deadline"),
    reportTimeoutMs: opt("report-timeout"),
    graceMs: duration(values, "grace-period", 10_000),
    version: values.get("version") === true,
    command: args,
    empty: argv.length === 0,
  };
}
