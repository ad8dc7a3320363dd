// Runs check_cmd / reload_cmd with /bin/sh -c (as confd), with a timeout
// (confd waits forever), collecting combined output for the logs.

import { spawn } from "node:child_process";

export interface ShellResult {
  ok: boolean;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  output: string;
  durationMs: number;
}

const MAX_OUTPUT = 64 * 1024;

export function runShell(cmd: string, timeoutMs: number): Promise<ShellResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", cmd], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    const collect = (chunk: Buffer) => {
      if (output.length < MAX_OUTPUT) output += chunk.toString("utf8");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // Kill the whole process group: the shell and what it started.
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    const finish = (code: number | null, signal: string | null, extra = "") => {
      clearTimeout(timer);
      resolve({
        ok: code === 0 && !timedOut,
        code,
        signal,
        timedOut,
        output: (output + extra).slice(0, MAX_OUTPUT),
        durationMs: Date.now() - started,
      });
    };
    child.on("error", (err) => finish(null, null, String(err.message)));
    child.on("close", (code, signal) => finish(code, signal));
  });
}

/** How a failed command ended, in Go's exec error words. */
export function describeExit(r: ShellResult, timeoutMs: number): string {
  if (r.timedOut) return `timed out after ${timeoutMs} ms`;
  if (r.signal) return `signal: ${r.signal}`;
  return `exit status ${r.code}`;
}
