// Atomic replacement of a rendered file: a temp file in the destination's
// directory, fsync, then rename over the destination. Readers see the old
// file or the new one, never a half-written one. An existing file keeps its
// mode (and owner when we may set it); a symlinked destination is written
// through to its target, as os.Create did.

import { realpathSync, statSync } from "node:fs";
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

/**
 * Several files at once: the fsyncs run in parallel on the thread pool
 * (one journal commit can cover them all) instead of one after another.
 */
export async function writeAllAtomic(
  files: readonly { dest: string; content: string }[],
): Promise<void> {
  const { open, chmod, chown, rename, unlink, mkdir } = await import("node:fs/promises");
  await Promise.all(
    files.map(async ({ dest, content }) => {
      const t = target(dest);
      const dir = dirname(t.path);
      await mkdir(dir, { recursive: true });
      const tmp = `${dir}/.${basename(t.path)}.domeize-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      const fh = await open(tmp, "wx", t.mode ?? 0o666);
      try {
        try {
          await fh.writeFile(content);
          await fh.sync();
        } finally {
          await fh.close();
        }
        if (t.mode !== undefined) {
          await chmod(tmp, t.mode);
          await chown(tmp, t.uid!, t.gid!).catch(() => undefined);
        }
        await rename(tmp, t.path);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw new Error(`cannot write ${dest}: ${(err as Error).message}`);
      }
    }),
  );
}
