// One supervised process, in consul-template's child/ shape: start it, learn
// when it exits, stop it with a signal, a grace period and then SIGKILL.
// The process leads its own process group so a stop reaches domeize and the
// app it started, and nothing is left behind.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export interface ChildSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  stdoutPath: string;
  stderrPath: string;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Child {
  private proc: ChildProcess | null = null;
  private exitPromise: Promise<ChildExit> | null = null;
  private exitInfo: ChildExit | null = null;

  constructor(private readonly spec: ChildSpec) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get exited(): boolean {
    return this.exitInfo !== null;
  }

  /** Spawn the process; resolves once it has a pid (rejects if the spawn fails). */
  start(): Promise<void> {
    const out = openSync(this.spec.stdoutPath, "a");
    const err = openSync(this.spec.stderrPath, "a");
    try {
      const [cmd, ...args] = this.spec.argv;
      const proc = spawn(cmd, args, {
        cwd: this.spec.cwd,
        env: this.spec.env,
        stdio: ["ignore", out, err],
        detached: true,
      });
      this.proc = proc;
      this.exitPromise = new Promise((resolve) => {
        proc.once("exit", (code, signal) => {
          this.exitInfo = { code, signal };
          resolve(this.exitInfo);
        });
        proc.once("error", () => {
          // spawn failure: no "exit" follows
          if (this.exitInfo === null) {
            this.exitInfo = { code: 127, signal: null };
            resolve(this.exitInfo);
          }
        });
      });
      return new Promise((resolve, reject) => {
        proc.once("spawn", () => resolve());
        proc.once("error", (e) => reject(e));
      });
    } finally {
      // the child holds its own copies of the descriptors
      closeSync(out);
      closeSync(err);
    }
  }

  /** Resolves when the process has exited. */
  wait(): Promise<ChildExit> {
    if (!this.exitPromise) return Promise.resolve({ code: null, signal: null });
    return this.exitPromise;
  }

  /** SIGTERM the process group, wait up to `graceMs`, then SIGKILL it. */
  async stop(graceMs: number): Promise<ChildExit> {
    if (!this.proc || this.exitInfo) return this.wait();
    this.signalGroup("SIGTERM");
    const timer = setTimeout(() => this.signalGroup("SIGKILL"), graceMs);
    try {
      return await this.wait();
    } finally {
      clearTimeout(timer);
      // reap anything the app left in its group (domeize may exit first)
      this.signalGroup("SIGKILL");
    }
  }

  /** SIGKILL whatever is left in the group (after the leader exited by itself). */
  killGroup(): void {
    this.signalGroup("SIGKILL");
  }

  private signalGroup(sig: NodeJS.Signals): void {
    const pid = this.proc?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // group already gone
    }
  }
}
