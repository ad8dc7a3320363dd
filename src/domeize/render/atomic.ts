// Atomic replacement of a rendered file: a temp file in the destination's
// directory, fsync, then rename over the destination. Readers see the old
// file or the new one, never a half-written one. An existing file keeps its
// mode (and owner when we may set it); a symlinked destination is written
// through to its target, as os.Create did.

import {
  chmodSync,
  chownSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname } from "node:path";

function target(dest: string): { path: string; mode?: number; uid?: number; gid?: number } {
  try {
    const path = realpathSync(dest);
    const st = statSync(path);
    return { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch {
    return { path: dest };
  }
}

export function writeAtomic(dest: string, content: string): void {
  const t = target(dest);
  const dir = dirname(t.path);
  mkdirSync(dir, { recursive: true });
  const tmp = `${dir}/.${basename(t.path)}.domeize-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, "wx", t.mode ?? 0o666);
  try {
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (t.mode !== undefined) {
      chmodSync(tmp, t.mode); // the umask must not narrow an existing file's mode
      try {
        chownSync(tmp, t.uid!, t.gid!);
      } catch {
        // not root: the file belongs to us, as with os.Create on a new file
      }
    }
    renameSync(tmp, t.path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created or already renamed
    }
    throw err;
  }
}
