// The exec plan handed to the sh launcher (bin/domeize): sh sources it and
// the app replaces the launcher (same pid, signals delivered directly,
// nothing of domeize left in memory). Every word is single-quoted, so no
// byte of it is ever interpreted by the shell; the plan is bytes, not text,
// so values that are not valid UTF-8 pass unchanged.
//
// The environment goes through env(1): `exec env -i -- NAME=VALUE… app …`.
// sh itself can only export names that are shell identifiers (dash drops
// `spring.profiles.active`, `A-B`, `1NUM` from its environment at start)
// and adds its own (PWD); env(1) sets exactly the entries it is given, in
// their order, and execs the app in the same process (one more exec, no
// fork). Without an env(1) the plan falls back to `export` lines for the
// additions (the caller's other identifier names pass through sh).

import type { RawEntry } from "../environ.js";

const QUOTE = 0x27;
const ESCAPED_QUOTE = Buffer.from("'\\''");

/** A single-quoted shell word with exactly the bytes of `b`. */
export function shellQuoteBytes(b: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from("'")];
  let start = 0;
  for (let i = b.indexOf(QUOTE); i >= 0; i = b.indexOf(QUOTE, start)) {
    parts.push(b.subarray(start, i), ESCAPED_QUOTE);
    start = i + 1;
  }
  parts.push(b.subarray(start), Buffer.from("'"));
  return Buffer.concat(parts);
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const SH_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isShellName(name: string): boolean {
  return SH_NAME.test(name);
}

/** Whether env(1) can set this entry: a non-empty name before the first '='. */
export function envSettable(e: RawEntry): boolean {
  return e.indexOf(0x3d) > 0;
}

export type PlanEnvironment =
  /** env(1) at `tool` sets exactly `entries` (the app's whole environment). */
  | { readonly kind: "exact"; readonly tool: string; readonly entries: readonly RawEntry[] }
  /** sh exports these on top of its own environment (no env(1) available). */
  | { readonly kind: "exports"; readonly exports: Readonly<Record<string, string>> };

export interface Plan {
  /**
   * Files the plan removes first (the plan file itself, the launcher's
   * /proc/net copy); none when Node removed them (the launcher reads the
   * plan through a descriptor it opened before, DOMEIZE_PLAN_FD).
   */
  readonly remove: readonly string[];
  readonly environment: PlanEnvironment;
  /** argv to exec; empty = nothing to run (exit 0). */
  readonly argv: readonly string[];
}

function words(list: readonly Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (const w of list) out.push(Buffer.from(" "), shellQuoteBytes(w));
  return Buffer.concat(out);
}

export function renderPlan(plan: Plan): Buffer {
  const lines: Buffer[] = [];
  if (plan.remove.length > 0) {
    lines.push(Buffer.from(`rm -f -- ${plan.remove.map(shellQuote).join(" ")}`));
  }
  const env = plan.environment;
  if (env.kind === "exports") {
    for (const [k, v] of Object.entries(env.exports)) {
      if (!isShellName(k)) throw new Error(`bad variable name ${k}`);
      lines.push(Buffer.from(`export ${k}=${shellQuote(v)}`));
    }
  }
  if (plan.argv.length === 0) {
    lines.push(Buffer.from("exit 0"));
  } else if (env.kind === "exact") {
    const head = [env.tool, "-i", "--"].map((w) => Buffer.from(w));
    const tail = plan.argv.map((w) => Buffer.from(w));
    lines.push(Buffer.concat([Buffer.from("exec"), words([...head, ...env.entries, ...tail])]));
  } else {
    lines.push(Buffer.concat([Buffer.from("exec"), words(plan.argv.map((w) => Buffer.from(w)))]));
  }
  const out: Buffer[] = [];
  for (const l of lines) out.push(l, Buffer.from("\n"));
  return Buffer.concat(out);
}
