// The demo's long-lived children (domeos-confd, nginx) run in their own
// process group (spawned detached), so npm start ends them and whatever they
// started (nginx's workers) by PID, never by name.
import type { ChildProcess } from "node:child_process";

function running(p: ChildProcess | null): p is ChildProcess & { pid: number } {
  return p?.pid !== undefined && p.exitCode === null && p.signalCode === null;
}

/** Last resort when `npm start` exits without a graceful stop: SIGKILL the whole group. */
export function killGroup(p: ChildProcess | null): void {
  if (!running(p)) return;
  try {
    process.kill(-p.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Graceful stop with `signal`, SIGKILL after `graceMs`; resolves once the child exited. */
export async function stopChild(
  p: ChildProcess | null,
  signal: NodeJS.Signals,
  graceMs = 5000,
): Promise<void> {
  if (!running(p)) return;
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  p.kill(signal);
  const t = setTimeout(() => p.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(t);
}
