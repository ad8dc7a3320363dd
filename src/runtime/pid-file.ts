// A pod's process left behind by a server that was killed (SIGKILL, OOM,
// power cut of the supervisor only): each replica's process leads its own
// group (child.ts) and outlives the server, still holding the pod's ports.
// The runtime records the group leader's pid and its kernel start time in
// the pod's dir; a runtime that starts the pod again ends what is left of
// the old group first. The start time tells a live leftover from a reused
// pid, so an unrelated process is never signalled.
import { readFileSync, rmSync, writeFileSync } from "node:fs";

/** Record the pod's process group leader. */
export function writePidFile(path: string, pid: number): void {
  const start = startTime(pid);
  if (start !== undefined) writeFileSync(path, `${pid} ${start}\n`);
}

/**
 * SIGKILL the process group recorded in `path` if its leader is still the
 * process that was recorded, wait until it is gone (at most `waitMs`), and
 * forget the file. Returns the pid it ended, if any.
 */
export async function endLeftover(path: string, waitMs = 5000): Promise<number | undefined> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  rmSync(path, { force: true });
  const [pidText, start] = text.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 1 || startTime(pid) !== start) return undefined;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    return undefined;
  }
  const end = Date.now() + waitMs;
  while (startTime(pid) === start && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return pid;
}

/** The kernel's start time of `pid` (field 22 of /proc/PID/stat), undefined when there is none. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) is in parentheses and may hold spaces
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // a zombie is gone for our purpose
    return fields[0] === "Z" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}
