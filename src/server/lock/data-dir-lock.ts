// One server per data directory. Two servers on one data dir adopt each
// other's pods and overwrite each other's annotations and ports, so the
// server takes an exclusive lock at start: SQLite's EXCLUSIVE locking mode on
// DATA_DIR/server.lock (an fcntl lock: the kernel drops it when the process
// dies, however it dies, so there is no stale lock to clean up). The pid of
// the holder is written beside it for the error message of the next one.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";

export const LOCK_FILE = "server.lock";
export const PID_FILE = "server.pid";

export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
  constructor(
    readonly dataDir: string,
    readonly holderPid: number | null,
    options?: { cause?: unknown },
  ) {
    super(
      `data dir ${dataDir} is in use by ${holderPid ? `domeos-server pid ${holderPid}` : "another domeos-server"} (lock ${join(dataDir, LOCK_FILE)}): stop that one first, or give this one its own --data-dir`,
      options,
    );
  }
}

export interface DataDirLock {
  readonly dataDir: string;
  release(): void;
}

/** Take the data dir's lock or throw DataDirInUseError naming the holder's pid. */
export function lockDataDir(dir: string): DataDirLock {
  const dataDir = resolve(dir);
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    // the first write takes the exclusive lock, kept until the connection closes
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER)");
    db.exec("BEGIN EXCLUSIVE; DELETE FROM holder; COMMIT");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith("SQLITE_BUSY"))
      throw new DataDirInUseError(dataDir, holderPid(dataDir), { cause: err });
    throw err;
  }
  writeFileSync(join(dataDir, PID_FILE), `${process.pid}\n`);
  let released = false;
  return {
    dataDir,
    release() {
      if (released) return;
      released = true;
      db.close();
    },
  };
}

function holderPid(dataDir: string): number | null {
  try {
    const n = Number(readFileSync(join(dataDir, PID_FILE), "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
