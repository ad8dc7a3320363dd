// Applies one rendered output to its destination, safely:
//   compare (content, mode, owner) -> unchanged: nothing at all
//   -noop -> unified diff only
//   stage `.<dest><random>` in the dest directory -> check_cmd on it ({{.src}})
//   -> atomic rename -> reload_cmd (with a timeout).
// A failed check leaves the destination untouched (the caller retries).

import { randomInt } from "node:crypto";
import { chmod, chown, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { formatMode } from "../resource/mode.js";
import type { ResourceConfig } from "../resource/resource-config.js";
import { describeExit, runShell } from "./shell.js";
import { unifiedDiff } from "./unified-diff.js";

export interface ApplyOptions {
  noop: boolean;
  syncOnly: boolean;
  keepStageFile: boolean;
  commandTimeoutMs: number;
  log: (level: "debug" | "info" | "warning" | "error", msg: string) => void;
}

export type ApplyResult =
  | { status: "unchanged" }
  | { status: "noop"; diff: string }
  | {
      status: "updated";
      reloaded: boolean;
      reasons: string[];
      /** Dynamic endpoints: upstreams whose member list was pushed to nginx. */
      pushed?: string[];
    }
  | { status: "check-failed"; message: string; output: string }
  | { status: "reload-failed"; message: string; output: string }
  | { status: "write-failed"; message: string }
  /** Dynamic endpoints: nginx's Lua endpoint did not take a member list. */
  | { status: "push-failed"; message: string };

interface DestState {
  content: Buffer;
  mode: number;
  uid: number;
  gid: number;
}

async function readDest(dest: string): Promise<DestState | null> {
  try {
    const [content, st] = await Promise.all([readFile(dest), stat(dest)]);
    return { content, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** confd substitutes {{.src}} in check_cmd with the staged file's path. */
export function checkCommand(template: string, stagedPath: string): string {
  return template.replace(/\{\{\s*\.src\s*\}\}/g, stagedPath);
}

export async function applyOutput(
  res: ResourceConfig,
  output: string,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const next = Buffer.from(output, "utf8");
  let cur: DestState | null;
  try {
    cur = await readDest(res.dest);
  } catch (err) {
    return {
      status: "write-failed",
      message: `cannot read ${res.dest}: ${(err as Error).message}`,
    };
  }
  const mode = res.mode ?? cur?.mode ?? 0o644;
  const reasons = differences(res, cur, next, mode);
  if (reasons.length === 0) {
    opts.log("debug", `Target config ${res.dest} in sync`);
    return { status: "unchanged" };
  }
  for (const r of reasons) opts.log("info", r);
  if (opts.noop) {
    const diff = unifiedDiff(
      cur?.content.toString("utf8") ?? "",
      output,
      res.dest,
      `${res.dest} (new)`,
    );
    opts.log("warning", `Noop mode enabled. ${res.dest} will not be modified`);
    return { status: "noop", diff };
  }
  return stageCheckReplace(res, next, mode, reasons, opts);
}

function differences(
  res: ResourceConfig,
  cur: DestState | null,
  next: Buffer,
  mode: number,
): string[] {
  if (!cur) return [`Target config ${res.dest} out of sync (missing)`];
  const out: string[] = [];
  if (!cur.content.equals(next)) out.push(`Target config ${res.dest} out of sync (content)`);
  if (cur.mode !== mode)
    out.push(`${res.dest} has mode ${formatMode(cur.mode)} should be ${formatMode(mode)}`);
  // An owner this process cannot give (not root) is not a difference: rewriting
  // and reloading every pass would not change it (confd's "UID should be 0" loop).
  if (!ownershipReachable(res)) return out;
  if (res.uid !== undefined && cur.uid !== res.uid)
    out.push(`${res.dest} has UID ${cur.uid} should be ${res.uid}`);
  if (res.gid !== undefined && cur.gid !== res.gid)
    out.push(`${res.dest} has GID ${cur.gid} should be ${res.gid}`);
  return out;
}

/** Whether chown to the resource's uid/gid can succeed here (root, or our own ids/groups). */
function ownershipReachable(res: ResourceConfig): boolean {
  const euid = process.geteuid?.();
  if (euid === undefined || euid === 0) return true;
  if (res.uid !== undefined && res.uid !== euid) return false;
  const groups = [process.getegid?.(), ...(process.getgroups?.() ?? [])];
  return res.gid === undefined || groups.includes(res.gid);
}

/**
 * chown as confd does: the file is written whatever happens; a refusal (not
 * root, EPERM) is a warning, not a failed resource.
 */
async function applyOwnership(path: string, res: ResourceConfig, opts: ApplyOptions) {
  if (res.uid === undefined && res.gid === undefined) return;
  try {
    await chown(path, res.uid ?? -1, res.gid ?? -1);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") throw err;
    const wanted = [
      res.uid === undefined ? "" : `uid ${res.uid}`,
      res.gid === undefined ? "" : `gid ${res.gid}`,
    ].filter(Boolean);
    opts.log(
      "warning",
      `${res.dest}: cannot give it ${wanted.join(" and ")} (${(err as Error).message}; running as uid ${process.geteuid?.()}); written with this process's ownership instead`,
    );
  }
}

function stagedPath(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}${randomInt(0, 2 ** 32 - 1)}`);
}

type CheckResult =
  | { ok: true }
  | { ok: false; status: "check-failed" | "write-failed"; message: string; output: string };

/** Write `next` to `staged` and run check_cmd on it (nothing is renamed). */
async function stageAndCheck(
  res: ResourceConfig,
  staged: string,
  next: Buffer,
  mode: number,
  opts: ApplyOptions,
): Promise<CheckResult> {
  try {
    await writeStaged(staged, next, mode, res, opts);
  } catch (err) {
    return {
      ok: false,
      status: "write-failed",
      message: `cannot stage ${staged}: ${(err as Error).message}`,
      output: "",
    };
  }
  if (opts.syncOnly || res.checkCmd === "") return { ok: true };
  const r = await runShell(checkCommand(res.checkCmd, staged), opts.commandTimeoutMs);
  if (r.ok) return { ok: true };
  const message = `Config check failed: ${describeExit(r, opts.commandTimeoutMs)}`;
  return { ok: false, status: "check-failed", message, output: r.output };
}

/**
 * Would check_cmd accept `output`? Stages it, checks it and removes it; the
 * destination is not touched (tracing a failed check to the pods at fault).
 */
export async function checkOutput(
  res: ResourceConfig,
  output: string,
  opts: ApplyOptions,
): Promise<CheckResult> {
  const staged = stagedPath(res.dest);
  let mode = res.mode ?? 0o644;
  if (res.mode === undefined) {
    try {
      mode = (await stat(res.dest)).mode & 0o7777;
    } catch {
      // a new destination: 0644
    }
  }
  try {
    return await stageAndCheck(res, staged, Buffer.from(output, "utf8"), mode, opts);
  } finally {
    await rm(staged, { force: true });
  }
}

async function stageCheckReplace(
  res: ResourceConfig,
  next: Buffer,
  mode: number,
  reasons: string[],
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const staged = stagedPath(res.dest);
  let renamed = false;
  try {
    const checked = await stageAndCheck(res, staged, next, mode, opts);
    if (!checked.ok) {
      if (checked.status === "write-failed")
        return { status: "write-failed", message: checked.message };
      return { status: "check-failed", message: checked.message, output: checked.output };
    }
    try {
      await replace(staged, res.dest, next, mode, res, opts);
      renamed = true;
    } catch (err) {
      return {
        status: "write-failed",
        message: `cannot replace ${res.dest}: ${(err as Error).message}`,
      };
    }
    if (!opts.syncOnly && res.reloadCmd !== "") {
      const r = await runShell(res.reloadCmd, opts.commandTimeoutMs);
      if (!r.ok) {
        return {
          status: "reload-failed",
          message: `Reload failed: ${describeExit(r, opts.commandTimeoutMs)}`,
          output: r.output,
        };
      }
      return { status: "updated", reloaded: true, reasons };
    }
    return { status: "updated", reloaded: false, reasons };
  } finally {
    if (!renamed) {
      if (opts.keepStageFile) opts.log("info", `Keeping staged file: ${staged}`);
      else await rm(staged, { force: true });
    }
  }
}

async function writeStaged(
  path: string,
  content: Buffer,
  mode: number,
  res: ResourceConfig,
  opts: ApplyOptions,
): Promise<void> {
  // "wx": never follow or clobber something already there.
  const fh = await open(path, "wx", mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(path, mode);
  await applyOwnership(path, res, opts);
}

async function replace(
  staged: string,
  dest: string,
  content: Buffer,
  mode: number,
  res: ResourceConfig,
  opts: ApplyOptions,
): Promise<void> {
  try {
    await rename(staged, dest);
  } catch (err) {
    // A bind-mounted destination cannot be renamed over (confd's fallback): write in place.
    if ((err as NodeJS.ErrnoException).code !== "EBUSY") throw err;
    await writeFile(dest, content);
    await chmod(dest, mode);
    await applyOwnership(dest, res, opts);
    await rm(staged, { force: true });
  }
}
