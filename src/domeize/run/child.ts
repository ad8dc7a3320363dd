// Resident mode (tails, or no sh launcher): run the app as a child with
// inherited stdio, forward every forwardable signal (each one, not only the
// first), SIGKILL after the grace period once a terminating signal was
// forwarded, and exit with the app's code or 128+signal.
//
// The handlers are installed before the app is started (SignalRelay, made
// first thing in resident mode): a signal between the spawn and the
// handlers would take the default action, killing domeize and leaving the
// app running unsupervised (a TERM-ignoring app then holds the pod and its
// pipes forever). A terminating signal that comes before the app exists
// means the app is not started at all.

import { type ChildProcess, spawn } from "node:child_process";
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

/** Catches the forwarded signals from its creation on; relays them to the app once attached. */
export class SignalRelay {
  private child: ChildProcess | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly handlers = new Map<string, () => void>();
  /** The first terminating signal that came before the app started. */
  early: string | undefined;

  constructor(private readonly graceMs: number) {
    for (const sig of FORWARDED) {
      const h = () => this.relay(sig);
      this.handlers.set(sig, h);
      process.on(sig, h);
    }
  }

  attach(child: ChildProcess): void {
    this.child = child;
  }

  private relay(sig: (typeof FORWARDED)[number]): void {
    const child = this.child;
    if (child === undefined) {
      // No app yet: a terminating signal cancels its start; others have no one to reach.
      if (TERMINATING.has(sig)) this.early ??= sig;
      return;
    }
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(sig);
    if (TERMINATING.has(sig) && this.killTimer === undefined) {
      this.killTimer = setTimeout(() => {
        log(`app still running ${this.graceMs}ms after ${sig}: sending SIGKILL`);
        child.kill("SIGKILL");
      }, this.graceMs);
    }
  }

  close(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
    if (this.killTimer !== undefined) clearTimeout(this.killTimer);
  }
}

/** Runs argv under `relay`; resolves with the exit code domeize must use. */
export function runChild(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  relay: SignalRelay,
): Promise<ChildResult> {
  return new Promise((resolve) => {
    if (relay.early !== undefined) {
      log(`${relay.early} before the app started: not starting it`);
      relay.close();
      resolve({ code: signalExitCode(relay.early) });
      return;
    }
    const child = spawn(argv[0], argv.slice(1), { stdio: "inherit", env });
    relay.attach(child);
    child.once("error", (err: NodeJS.ErrnoException) => {
      relay.close();
      const code = err.code === "ENOENT" ? EXIT.notFound : EXIT.notExecutable;
      log(`cannot start ${argv[0]}: ${err.message}`);
      resolve({ code });
    });
    child.once("exit", (code, signal) => {
      relay.close();
      resolve({ code: signal !== null ? signalExitCode(signal) : (code ?? EXIT.internal) });
    });
  });
}
