// Resident mode (tails, or no sh launcher): run the app as a child with
// inherited stdio, forward every forwardable signal (each one, not only the
// first), SIGKILL after the grace period once a terminating signal was
// forwarded, and exit with the app's code or 128+signal.

import { spawn } from "node:child_process";
import { constants } from "node:os";
import { EXIT } from "../exit.js";
import { log } from "../log.js";

export const FORWARDED = [
  "SIGHUP",
  "SIGINT",
  "SIGTERM",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
] as const;
const TERMINATING = new Set<string>(["SIGHUP", "SIGINT", "SIGTERM", "SIGQUIT"]);

export function signalExitCode(signal: NodeJS.Signals | string): number {
  const n = (constants.signals as Record<string, number>)[signal];
  return 128 + (n ?? 0);
}

export interface ChildResult {
  readonly code: number;
}

/** Runs argv; resolves with the exit code domeize must use. */
export function runChild(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  graceMs: number,
): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: "inherit", env });
    let killTimer: NodeJS.Timeout | undefined;
    const handlers = new Map<string, () => void>();
    const cleanup = () => {
      for (const [sig, h] of handlers) process.off(sig, h);
      if (killTimer !== undefined) clearTimeout(killTimer);
    };
    for (const sig of FORWARDED) {
      const h = () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill(sig);
        if (TERMINATING.has(sig) && killTimer === undefined) {
          killTimer = setTimeout(() => {
            log(`app still running ${graceMs}ms after ${sig}: sending SIGKILL`);
            child.kill("SIGKILL");
          }, graceMs);
        }
      };
      handlers.set(sig, h);
      process.on(sig, h);
    }
    child.once("error", (err: NodeJS.ErrnoException) => {
      cleanup();
      const code = err.code === "ENOENT" ? EXIT.notFound : EXIT.notExecutable;
      log(`cannot start ${argv[0]}: ${err.message}`);
      resolve({ code });
    });
    child.once("exit", (code, signal) => {
      cleanup();
      resolve({ code: signal !== null ? signalExitCode(signal) : (code ?? EXIT.internal) });
    });
  });
}
