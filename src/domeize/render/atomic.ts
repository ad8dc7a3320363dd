// Atomic replacement of a rendered file: a temp file in the destination's
// directory, fsync, then rename over the destination. Readers see the old
// file or the new one, never a half-written one. An existing file keeps its
// mode (and owner when we may set it); a symlinked destination is written
// through to its target, as os.Create did.

import {
  chmodSync,
  chownSync,
  closeSync,
  fsync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  rename,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname } from "node:path";

interface Target {
  readonly dest: string;
  readonly path: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

function target(dest: string): Target {
  try {
    // native: one realpath(3) call instead of an lstat per path component.
    const path = realpathSync.native(dest);
    const st = statSync(path);
    return { dest, path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch {
    return { dest, path: dest };
  }
}

function writeAll(fd: number, content: string): void {
  const buf = Buffer.from(content, "utf8");
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off);
}

/** Create and fill the temp file (page cache only: fast, no waiting). */
function writeTemp(t: Target, content: string): { tmp: string; fd: number } {
  const dir = dirname(t.path);
  mkdirSync(dir, { recursive: true });
  const tmp = `${dir}/.${basename(t.path)}.domeize-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, "wx", t.mode ?? 0o666);
  try {
    writeAll(fd, content);
    if (t.mode !== undefined) {
      chmodSync(tmp, t.mode);
      try {
        chownSync(tmp, t.uid!, t.gid!);
      } catch {
        // not ours to give away: the file keeps our owner
      }
    }
  } catch (err) {
    closeSync(fd);
    unlinkQuiet(tmp);
    throw err;
  }
  return { tmp, fd };
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

const fsyncFd = (fd: number) =>
  new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));

/** Temp files written and fsynced, waiting to be renamed over their destinations. */
export interface StagedFiles {
  /** Rename every temp file over its destination (all at once on the thread pool). */
  commit(): Promise<void>;
  /** Remove the temp files: no destination is touched. */
  abort(): void;
}

const renameAsync = (from: string, to: string) =>
  new Promise<void>((resolve, reject) =>
    rename(from, to, (err) => (err ? reject(err) : resolve())),
  );

/**
 * Several files at once, in two steps. stageAll: write every temp file,
 * fsync them all in parallel on the thread pool (one wait, and one journal
 * commit can cover them all); commit: rename each over its destination.
 * Any failure while staging removes the temp files and renames nothing.
 */
export async function stageAll(
  files: readonly { dest: string; content: string }[],
): Promise<StagedFiles> {
  const written: { t: Target; tmp: string; fd: number }[] = [];
  const cleanup = () => {
    for (const w of written) {
      if (w.fd >= 0) closeSync(w.fd);
      w.fd = -1;
      unlinkQuiet(w.tmp);
    }
  };
  try {
    for (const { dest, content } of files) {
      const t = target(dest);
      written.push({ t, ...writeTemp(t, content) });
    }
  } catch (err) {
    cleanup();
    throw new Error(`cannot write ${files[written.length].dest}: ${(err as Error).message}`);
  }
  const synced = await Promise.allSettled(written.map((w) => fsyncFd(w.fd)));
  const failed = synced.findIndex((s) => s.status === "rejected");
  if (failed >= 0) {
    cleanup();
    const why = (synced[failed] as PromiseRejectedResult).reason as Error;
    throw new Error(`cannot write ${written[failed].t.dest}: ${why.message}`);
  }
  for (const w of written) {
    closeSync(w.fd);
    w.fd = -1;
  }
  return {
    async commit() {
      // Renames are independent (each is atomic on its own), so they go to
      // the thread pool together; a failed one leaves its temp file removed.
      const renamed = await Promise.allSettled(written.map((w) => renameAsync(w.tmp, w.t.path)));
      const bad = renamed.findIndex((r) => r.status === "rejected");
      if (bad >= 0) {
        renamed.forEach((r, i) => {
          if (r.status === "rejected") unlinkQuiet(written[i].tmp);
        });
        const why = (renamed[bad] as PromiseRejectedResult).reason as Error;
        throw new Error(`cannot write ${written[bad].t.dest}: ${why.message}`);
      }
      removeStaleTemps(written.map((w) => w.t.path));
    },
    abort: cleanup,
  };
}

/** Temp files older than this are leftovers of a domeize that died mid-way. */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Remove the temp files an earlier domeize left beside these destinations
 * when it was killed between staging and commit (temp files live for the
 * whole report, retries included). Only files of our own naming scheme for
 * these destinations, and only old ones: a temp file of a live run (the same
 * template in another container sharing the directory) is minutes old at most.
 */
function removeStaleTemps(paths: readonly string[]): void {
  const byDir = new Map<string, string[]>();
  for (const p of paths) {
    const prefixes = byDir.get(dirname(p)) ?? [];
    prefixes.push(`.${basename(p)}.domeize-`);
    byDir.set(dirname(p), prefixes);
  }
  const cutoff = Date.now() - STALE_TEMP_MS;
  for (const [dir, prefixes] of byDir) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!prefixes.some((prefix) => name.startsWith(prefix))) continue;
      try {
        if (statSync(`${dir}/${name}`).mtimeMs < cutoff) unlinkSync(`${dir}/${name}`);
      } catch {
        // gone meanwhile, or not ours to remove
      }
    }
  }
}

/** stageAll, then commit. */
export async function writeAllAtomic(
  files: readonly { dest: string; content: string }[],
): Promise<void> {
  await (await stageAll(files)).commit();
}
