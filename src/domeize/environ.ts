// The caller's environment, byte for byte: what the app must get (plus the
// AUTO_PORTs), and what templates see as .Env.
//
// process.env cannot be trusted for that: Node decodes values as UTF-8
// (invalid bytes are replaced), and under the sh launcher it is the
// shell's environment: sh drops every name that is not a shell identifier
// (`spring.profiles.active`, `A-B`, `1NUM`) and adds its own (PWD, the
// launcher protocol's DOMEIZE_*). The kernel keeps the block a process was
// started with, untouched, in /proc/<pid>/environ: the launcher's (our
// parent's) is exactly what the caller passed, and our own is, when no
// launcher ran (the self-contained executable, `node domeize.cjs`).

import { readFileSync } from "node:fs";

/** One "NAME=VALUE" entry, raw bytes, no NUL. */
export type RawEntry = Buffer;

/** Variables of the launcher protocol: never the caller's, never the app's. */
export const INTERNAL_VARS: readonly string[] = [
  "DOMEIZE_PLAN_FILE",
  "DOMEIZE_PLAN_FD",
  "DOMEIZE_RESUME",
  "DOMEIZE_NETSCAN",
  "DOMEIZE_NETSCAN_PID",
];

const EQ = 0x3d;

/** The name part of an entry (all of it when it has no '='), as bytes. */
export function entryName(e: RawEntry): Buffer {
  const i = e.indexOf(EQ);
  return i < 0 ? e : e.subarray(0, i);
}

/** Splits an environ block (NUL-terminated entries) into its entries. */
export function splitEnviron(block: Buffer): RawEntry[] {
  const out: RawEntry[] = [];
  let start = 0;
  for (;;) {
    const end = block.indexOf(0, start);
    if (end < 0) {
      if (start < block.length) out.push(block.subarray(start));
      return out;
    }
    if (end > start) out.push(block.subarray(start, end));
    start = end + 1;
  }
}

function readProcEnviron(pid: number | "self"): RawEntry[] | undefined {
  try {
    return splitEnviron(readFileSync(`/proc/${pid}/environ`));
  } catch {
    return undefined;
  }
}

/** Rebuilt from process.env: the fallback without a readable /proc. */
function fromProcessEnv(env: NodeJS.ProcessEnv): RawEntry[] {
  const out: RawEntry[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out.push(Buffer.from(`${k}=${v}`));
  return out;
}

export type EnvironSource = "launcher" | "self" | "process.env";

export interface CallerEnviron {
  readonly entries: RawEntry[];
  readonly source: EnvironSource;
}

/**
 * The caller's environment. `launcherPid`: the sh launcher that started us
 * (its environ is the caller's); otherwise our own, minus the protocol's
 * variables (a resident domeize is started with DOMEIZE_RESUME).
 */
export function callerEnviron(
  launcherPid: number | undefined,
  env: NodeJS.ProcessEnv,
): CallerEnviron {
  if (launcherPid !== undefined) {
    const entries = readProcEnviron(launcherPid);
    if (entries !== undefined) return { entries, source: "launcher" };
  }
  const own = readProcEnviron("self");
  const entries = own ?? fromProcessEnv(env);
  const internal = new Set(INTERNAL_VARS);
  return {
    entries: entries.filter((e) => !internal.has(entryName(e).toString("latin1"))),
    source: own !== undefined && launcherPid === undefined ? "self" : "process.env",
  };
}

/**
 * The app's environment: `entries` with each addition replacing the value
 * of an entry of the same name in place (every entry of that name), the
 * others appended in their order.
 */
export function withAdditions(
  entries: readonly RawEntry[],
  additions: Readonly<Record<string, string>>,
): RawEntry[] {
  const pending = new Map(Object.entries(additions));
  const out: RawEntry[] = [];
  const done = new Set<string>();
  for (const e of entries) {
    const name = entryName(e).toString("latin1");
    const v = pending.get(name);
    if (v === undefined || e.indexOf(EQ) < 0) {
      out.push(e);
      continue;
    }
    out.push(Buffer.from(`${name}=${v}`));
    done.add(name);
  }
  for (const [k, v] of pending) if (!done.has(k)) out.push(Buffer.from(`${k}=${v}`));
  return out;
}

/**
 * Makes process.env the app's environment, decoded (UTF-8; invalid bytes
 * become U+FFFD), in order: .Env and sprig's `env` read it, and a resident
 * domeize passes it to the app. Entries without '=' are skipped (no name).
 */
export function installEnviron(entries: readonly RawEntry[], env: NodeJS.ProcessEnv): void {
  for (const k of Object.keys(env)) delete env[k];
  for (const e of entries) {
    const i = e.indexOf(EQ);
    if (i <= 0) continue;
    const name = e.toString("utf8", 0, i);
    // The first of duplicate names wins, as getenv(3) finds it.
    if (!Object.hasOwn(env, name)) env[name] = e.toString("utf8", i + 1);
  }
}
