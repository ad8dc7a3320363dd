// One replica (pod) under restart policy Always: start its process, publish
// the pod's status as it starts, becomes ready, exits and restarts (with
// capped exponential backoff), and stop it cleanly. Status writes go through
// a retrying sync so a store outage delays them but never loses the latest.
import type { Store } from "../store/store.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { Child, type ChildExit } from "./child.js";
import { type ContainerState, type PodObject, podAutoPorts } from "./pod-object.js";
import { updatePod } from "./pod-writer.js";
import { Sleep, tcpAccepts } from "./readiness.js";
import type { PodPhase } from "./types.js";

export interface ReplicaOptions {
  store: Store;
  namespace: string;
  name: string;
  hostIP: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  stdoutPath: string;
  stderrPath: string;
  /** Exposed ports: readiness waits for AUTO_PORT0 to accept connections when > 0. */
  ports: number;
  backoff: BackoffOptions;
  graceMs: number;
  /** Give up waiting for the port and call the replica ready anyway. */
  readinessTimeoutMs: number;
  /** Restart count carried over from the stored pod (a server restart keeps it). */
  restartCount: number;
  log: (msg: string) => void;
  onChange: () => void;
}

/** What the replica last published (also shown by the console). */
export interface ReplicaStatus {
  phase: PodPhase;
  podIP?: string;
  ready: boolean;
  restartCount: number;
  state: ContainerState;
  lastState?: ContainerState;
  startTime?: string;
  pid?: number;
}

const SYNC_RETRY_MS = 500;
/** Readiness poll period: part of the create-to-routed latency, and cheap (one get and one connect). */
const READY_POLL_MS = 50;

export class Replica {
  private child: Child | null = null;
  private stopping = false;
  private draining = false;
  private readonly sleep = new Sleep();
  private readonly backoff: Backoff;
  private loop: Promise<void> | null = null;
  readonly status: ReplicaStatus;
  private syncing = false;
  private syncAgain = false;
  private syncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: ReplicaOptions) {
    this.backoff = new Backoff(o.backoff);
    this.status = {
      phase: "Pending",
      ready: false,
      restartCount: o.restartCount,
      state: { waiting: { reason: "ContainerCreating" } },
    };
  }

  get name(): string {
    return this.o.name;
  }

  get namespace(): string {
    return this.o.namespace;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Leave the load balancers before stopping: drop podIP (the seed template
   * then drops the pod), wait `ms` for them to reload. nginx then closes its
   * idle keep-alive connections itself, so the TIME_WAIT sockets end up on
   * its side and the app's ports are clean for the next start.
   */
  async drain(ms: number): Promise<void> {
    this.draining = true;
    if (this.stopping || !this.status.podIP) return;
    this.set({ podIP: undefined, ready: false });
    await this.flush();
    await new Promise((r) => setTimeout(r, ms));
  }

  /** Stop the process (SIGTERM, grace, SIGKILL) and publish the final status. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sleep.cancel();
    await this.child?.stop(this.o.graceMs);
    await this.loop;
    this.set({
      phase: "Pending",
      podIP: undefined,
      ready: false,
      pid: undefined,
      state: { waiting: { reason: "RuntimeStopped" } },
    });
    await this.finalFlush();
  }

  /** Stop without publishing anything (the pod is being deleted). */
  async kill(): Promise<void> {
    this.stopping = true;
    this.sleep.cancel();
    await this.child?.stop(this.o.graceMs);
    await this.loop;
    if (this.syncTimer) clearTimeout(this.syncTimer);
  }

  /** Wait for in-flight writes, then write the final status (bounded retries). */
  private async finalFlush(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (this.syncing && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    const s = { ...this.status };
    while (Date.now() < deadline) {
      try {
        await updatePod(this.o.store, this.o.namespace, this.o.name, (pod) => applyStatus(pod, s));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private async run(): Promise<void> {
    let first = true;
    while (!this.stopping) {
      if (!first) this.status.restartCount++;
      first = false;
      const started = Date.now();
      const exit = await this.runOnce();
      if (this.stopping || exit === null) return;
      const delay = this.backoff.next(Date.now() - started);
      this.o.log(
        `pod ${this.o.namespace}/${this.o.name} exited (${describeExit(exit)}); restarting in ${delay} ms`,
      );
      this.set({
        podIP: undefined,
        ready: false,
        pid: undefined,
        lastState: { terminated: terminated(exit) },
        state: { waiting: { reason: "CrashLoopBackOff", message: `back-off ${delay}ms` } },
      });
      await this.sleep.wait(delay);
    }
  }

  /** Start the process once and wait for its exit (null when the runtime is stopping). */
  private async runOnce(): Promise<ChildExit | null> {
    const child = new Child({
      argv: this.o.argv,
      env: this.o.env,
      cwd: this.o.cwd,
      stdoutPath: this.o.stdoutPath,
      stderrPath: this.o.stderrPath,
    });
    this.child = child;
    try {
      await child.start();
    } catch (err) {
      this.o.log(`pod ${this.o.namespace}/${this.o.name}: cannot start: ${(err as Error).message}`);
      return { code: 127, signal: null };
    }
    if (this.stopping) {
      // stop() raced the spawn and saw no process yet
      await child.stop(this.o.graceMs);
      return null;
    }
    const now = new Date().toISOString();
    this.status.startTime ??= now;
    this.set({ phase: "Running", pid: child.pid, state: { running: { startedAt: now } } });
    void this.awaitReady(child);
    const exit = await child.wait();
    child.killGroup();
    return this.stopping ? null : exit;
  }

  /** Publish podIP once the first port accepts connections (or no port is needed). */
  private async awaitReady(child: Child): Promise<void> {
    const deadline = Date.now() + this.o.readinessTimeoutMs;
    while (this.o.ports > 0 && !child.exited && !this.stopping && Date.now() < deadline) {
      const port = await this.firstPort();
      if (port !== undefined && (await tcpAccepts(this.o.hostIP, port))) break;
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
    if (child.exited || this.stopping || this.draining || this.child !== child) return;
    this.set({ podIP: this.o.hostIP, ready: true });
  }

  private async firstPort(): Promise<number | undefined> {
    try {
      const kv = await this.o.store.get(`/registry/pods/${this.o.namespace}/${this.o.name}`);
      if (!kv) return undefined;
      return podAutoPorts(JSON.parse(kv.value) as PodObject)[0];
    } catch {
      return undefined; // store unavailable: try again on the next tick
    }
  }

  private set(patch: Partial<ReplicaStatus>): void {
    Object.assign(this.status, patch);
    for (const k of Object.keys(patch) as (keyof ReplicaStatus)[]) {
      if (patch[k] === undefined) delete this.status[k];
    }
    this.o.onChange();
    void this.flush();
  }

  /** Write the current status into the stored pod; retried until it lands. */
  flush(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return Promise.resolve();
    }
    this.syncing = true;
    return this.writeStatus().finally(() => {
      this.syncing = false;
      if (this.syncAgain) {
        this.syncAgain = false;
        void this.flush();
      }
    });
  }

  private async writeStatus(): Promise<void> {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    const s = { ...this.status };
    try {
      await updatePod(this.o.store, this.o.namespace, this.o.name, (pod) => applyStatus(pod, s));
    } catch (err) {
      this.o.log(
        `pod ${this.o.namespace}/${this.o.name}: status write failed, retrying: ${(err as Error).message}`,
      );
      if (this.stopping) return; // stop() writes the final status itself
      this.syncTimer = setTimeout(() => void this.flush(), SYNC_RETRY_MS);
      this.syncTimer.unref();
    }
  }
}

function applyStatus(pod: PodObject, s: ReplicaStatus): void {
  pod.status.phase = s.phase;
  if (s.podIP) pod.status.podIP = s.podIP;
  else delete pod.status.podIP;
  if (s.startTime) pod.status.startTime = s.startTime;
  const cs = pod.status.containerStatuses[0];
  cs.ready = s.ready;
  cs.restartCount = s.restartCount;
  cs.state = s.state;
  if (s.lastState) cs.lastState = s.lastState;
}

function terminated(exit: ChildExit): NonNullable<ContainerState["terminated"]> {
  return {
    exitCode: exit.code ?? 128 + signalNumber(exit.signal),
    ...(exit.signal ? { signal: signalNumber(exit.signal) } : {}),
    reason: exit.code === 0 ? "Completed" : "Error",
    finishedAt: new Date().toISOString(),
  };
}

function signalNumber(sig: NodeJS.Signals | null): number {
  const map: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return sig ? (map[sig] ?? 0) : 0;
}

function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
