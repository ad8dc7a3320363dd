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
  realpathSync,
  renameSync,
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

/**
 * Several files at once, in three steps: write every temp file, fsync them
 * all in parallel on the thread pool (one wait, and one journal commit can
 * cover them all), then rename each over its destination. Any failure
 * removes the temp files and renames nothing.
 */
export async function writeAllAtomic(
  files: readonly { dest: string; content: string }[],
): Promise<void> {
  const written: { t: Target; tmp: string; fd: number }[] = [];
  const cleanup = () => {
    for (const w of written) {
      if (w.fd >= 0) closeSync(w.fd);
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
  for (let i = 0; i < written.length; i++) {
    try {
      renameSync(written[i].tmp, written[i].t.path);
    } catch (err) {
      for (const w of written.slice(i)) unlinkQuiet(w.tmp);
      throw new Error(`cannot write ${written[i].t.dest}: ${(err as Error).message}`);
    }
  }
}
