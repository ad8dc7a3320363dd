// A host-wide mutex in DOMEIZE_STATE_DIR that needs no flock: a lock file
// created with O_EXCL. A lock whose owner died (same pid namespace) or that
// is older than STALE_MS (the critical section takes milliseconds) is
// broken; breaking goes through a second O_EXCL file so two breakers can
// never both remove a fresh lock.

import {
  closeSync,
  type FSWatcher,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  watch,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { EXIT, fail } from "../exit.js";
import { liveness, type ProcessIdentity } from "./identity.js";

const STALE_MS = 10_000;

/**
 * Sleeps until the lock file is removed (an inotify event on the state dir)
 * or ms pass. Waiters sleep instead of polling: with hundreds of pods
 * starting at once, polling would starve the lock holder of CPU.
 */
class ReleaseSignal {
  private wake: (() => void) | undefined;
  private readonly watcher: FSWatcher | undefined;

  constructor(path: string) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    try {
      this.watcher = watch(dirname(path), (_event, file) => {
        if (file === null || file === name) this.wake?.();
      });
      this.watcher.on("error", () => undefined);
    } catch {
      this.watcher = undefined; // no inotify: timed polling only
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
  }
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o666);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function isStale(path: string, ino: number, mtimeMs: number): boolean {
  if (Date.now() - mtimeMs > STALE_MS) return true;
  let owner: ProcessIdentity | undefined;
  try {
    owner = JSON.parse(readFileSync(path, "utf8")) as ProcessIdentity;
  } catch {
    return false; // being written right now, or gone
  }
  return ino !== 0 && liveness(owner) === "dead";
}

/** Remove the lock at path if it is (still) the stale one we looked at. */
function breakStale(path: string): void {
  let st: { ino: number; mtimeMs: number };
  try {
    st = statSync(path);
  } catch {
    return;
  }
  if (!isStale(path, st.ino, st.mtimeMs)) return;
  const breaker = `${path}.break`;
  if (!tryCreate(breaker, String(process.pid))) {
    try {
      if (Date.now() - statSync(breaker).mtimeMs > STALE_MS) unlinkQuiet(breaker);
    } catch {
      // gone
    }
    return;
  }
  try {
    const again = statSync(path);
    if (again.ino === st.ino) unlinkQuiet(path);
  } catch {
    // gone meanwhile
  } finally {
    unlinkQuiet(breaker);
  }
}

export async function withLock<T>(
  path: string,
  owner: ProcessIdentity,
  fn: () => Promise<T>,
  timeoutMs = 180_000,
): Promise<T> {
  const content = JSON.stringify(owner);
  const deadline = Date.now() + timeoutMs;
  if (!tryCreate(path, content)) {
    const release = new ReleaseSignal(path);
    try {
      for (let tries = 0; !tryCreate(path, content); tries++) {
        if (Date.now() > deadline) {
          fail(
            EXIT.ports,
            `could not lock ${path} within ${timeoutMs / 1000}s (another domeize holds it)`,
          );
        }
        if (tries % 8 === 7) breakStale(path);
        // Jitter spreads the herd a release wakes up.
        await release.sleep(100 + Math.random() * 150);
        await new Promise((r) => setTimeout(r, Math.random() * 3));
      }
    } finally {
      release.close();
    }
  }
  try {
    return await fn();
  } finally {
    unlinkQuiet(path);
  }
}
