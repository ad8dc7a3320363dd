// Logs of deleted pods, kept for a while (kubectl users expect `logs` of a
// pod that just crashed out of a scale-down to still answer). On delete the
// pod's stdout/stderr move to <dataDir>/deleted-pods/<ns>/<pod>/ with the
// deployment's name beside them; each delete prunes what is older than the
// retention.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export const KEEP_DELETED_LOGS_MS = 60 * 60 * 1000;

export interface LogFiles {
  stdout: string;
  stderr: string;
}

function keptDir(dataDir: string, namespace: string, pod: string): string {
  return join(dataDir, "deleted-pods", namespace, pod);
}

/** Move a deleted pod's logs aside (best effort: a log is never worth failing a delete). */
export function keepLogs(
  dataDir: string,
  namespace: string,
  pod: string,
  deployment: string,
  live: LogFiles,
): void {
  const dir = keptDir(dataDir, namespace, pod);
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const stream of ["stdout", "stderr"] as const)
      if (existsSync(live[stream])) renameSync(live[stream], join(dir, `${stream}.log`));
    writeFileSync(join(dir, "deployment"), deployment);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The kept logs of a deleted pod of `deployment`, if still kept. */
export function keptLogs(
  dataDir: string,
  namespace: string,
  pod: string,
  deployment: string,
): LogFiles | undefined {
  const dir = keptDir(dataDir, namespace, pod);
  try {
    if (readFileSync(join(dir, "deployment"), "utf8") !== deployment) return undefined;
  } catch {
    return undefined;
  }
  return { stdout: join(dir, "stdout.log"), stderr: join(dir, "stderr.log") };
}

/** Remove kept logs older than `maxAgeMs`. */
export function pruneKeptLogs(dataDir: string, maxAgeMs: number, now = Date.now()): void {
  const root = join(dataDir, "deleted-pods");
  for (const ns of list(root)) {
    for (const pod of list(join(root, ns))) {
      const dir = join(root, ns, pod);
      try {
        if (now - statSync(join(dir, "deployment")).mtimeMs > maxAgeMs)
          rmSync(dir, { recursive: true, force: true });
      } catch {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
