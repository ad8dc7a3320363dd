// One replica (pod) under restart policy Always: start its process, publish
// the pod's status as it starts, becomes ready (readiness probe), exits,
// hangs (liveness probe) and restarts (with capped exponential backoff), and
// stop it cleanly: out of routing first (Ready False, deletionTimestamp),
// then SIGTERM. Status writes go through a retrying sync so a store outage
// delays them but never loses the latest.
import { defaultReadiness, type ProbeSpec } from "../server/deploy/probe-spec.js";
import type { Logger } from "../server/log/logger.js";
import type { Store } from "../store/store.js";
import { type BackoffOptions, RestartBackoff } from "./backoff.js";
import { Child, type ChildExit } from "./child.js";
import { endLeftover, writePidFile } from "./pid-file.js";
import {
  type ContainerState,
  type PodObject,
  podAutoPorts,
  setReadyConditions,
} from "./pod-object.js";
import { updatePod, updatePodAt } from "./pod-writer.js";
import { Prober, runCheck, Sleep } from "./probe.js";
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
  /** Exposed ports: without a readiness probe, ready once AUTO_PORT0 accepts connections (> 0). */
  ports: number;
  readinessProbe?: ProbeSpec;
  livenessProbe?: ProbeSpec;
  backoff: BackoffOptions;
  graceMs: number;
  /** Where the process group leader's pid is kept (a killed server's leftover is ended on start). */
  pidFile?: string;
  /** Restart count carried over from the stored pod (a server restart keeps it). */
  restartCount: number;
  log: Logger;
  onChange: () => void;
}

/** What the replica last published (also shown by the console). */
export interface ReplicaStatus {
  phase: PodPhase;
  podIP?: string;
  ready: boolean;
  /** Why Ready is what it is (condition reason and message). */
  readyReason?: string;
  readyMessage?: string;
  /** metadata.deletionTimestamp once the pod is being deleted. */
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  restartCount: number;
  state: ContainerState;
  lastState?: ContainerState;
  startTime?: string;
  pid?: number;
}

const SYNC_RETRY_MS = 500;
/** Readiness period until the first success: part of the create-to-routed latency, and cheap. */
const FIRST_READY_POLL_MS = 50;

/** What leaving the load balancers took: the write to wait for, if the pod was routable. */
export interface LeaveResult {
  /** The pod may have been routed: wait until the load balancers applied `revision`. */
  wasRoutable: boolean;
  /** Store revision of the write that made the pod unroutable (undefined: not written). */
  revision?: number;
}

export class Replica {
  private child: Child | null = null;
  private stopping = false;
  private draining = false;
  private readonly sleep = new Sleep();
  private readonly backoff: RestartBackoff;
  private loop: Promise<void> | null = null;
  readonly status: ReplicaStatus;
  private syncing = false;
  private syncAgain = false;
  private syncTimer: NodeJS.Timeout | null = null;
  /** Ready as last written to the store: what the load balancers may be routing on. */
  private publishedReady = false;
  private probers: Prober[] = [];
  private readiness: Prober | null = null;

  constructor(private readonly o: ReplicaOptions) {
    this.backoff = new RestartBackoff(o.backoff);
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

  /** Why the readiness check fails now, when it has failed since the process started. */
  get readinessFailure(): string | undefined {
    return this.readiness?.lastFailure;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Leave the load balancers before stopping: Ready False, no podIP (the
   * seed template tests podIP), and `metadata.deletionTimestamp` when the
   * pod is being deleted, in one write whose revision the caller waits for
   * confd to apply. nginx then closes its idle keep-alive connections
   * itself, so the TIME_WAIT sockets end up on its side and the app's ports
   * are clean for the next start.
   */
  async leaveRouting(deleting: boolean): Promise<LeaveResult> {
    const wasRoutable = this.status.ready || this.publishedReady;
    this.draining = true;
    this.stopProbes();
    if (this.stopping) return { wasRoutable: false };
    Object.assign(this.status, {
      ready: false,
      readyReason: deleting ? "Terminating" : "Stopping",
      readyMessage: deleting ? "the pod is being deleted" : "the runtime is stopping",
    });
    delete this.status.podIP;
    if (deleting) {
      this.status.deletionTimestamp = new Date().toISOString();
      this.status.deletionGracePeriodSeconds = Math.ceil(this.o.graceMs / 1000);
    }
    this.o.onChange();
    const revision = await this.writeNow(this.o.graceMs / 1000);
    return { wasRoutable, revision };
  }

  /** Stop the process (SIGTERM, grace, SIGKILL) and publish the final status. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopProbes();
    this.sleep.cancel();
    await this.child?.stop(this.o.graceMs);
    await this.loop;
    this.set({
      phase: "Pending",
      podIP: undefined,
      ready: false,
      readyReason: "RuntimeStopped",
      readyMessage: "the runtime stopped this pod; it comes back when the runtime starts again",
      pid: undefined,
      state: { waiting: { reason: "RuntimeStopped" } },
    });
    await this.finalFlush();
  }

  /** Stop without publishing anything (the pod is being deleted). */
  async kill(): Promise<void> {
    this.stopping = true;
    this.stopProbes();
    this.sleep.cancel();
    await this.child?.stop(this.o.graceMs);
    await this.loop;
    if (this.syncTimer) clearTimeout(this.syncTimer);
  }

  /** Wait for in-flight writes, then write the final status (bounded retries). */
  private async finalFlush(): Promise<void> {
    await this.writeNow(5);
  }

  /**
   * Write the current status now, after any in-flight write (which may hold
   * an older state), retrying for up to `seconds`; the write's revision.
   */
  private async writeNow(seconds: number): Promise<number | undefined> {
    const deadline = Date.now() + Math.max(1, seconds) * 1000;
    while (this.syncing && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    const s = { ...this.status };
    while (Date.now() < deadline) {
      try {
        const w = await updatePodAt(this.o.store, this.o.namespace, this.o.name, (pod) =>
          applyStatus(pod, s),
        );
        this.publishedReady = s.ready;
        return w?.revision;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return undefined;
  }

  private stopProbes(): void {
    for (const p of this.probers.splice(0)) p.stop();
  }

  private async run(): Promise<void> {
    // a server killed without stopping its pods left this one's process running
    if (this.o.pidFile) {
      const pid = await endLeftover(this.o.pidFile);
      if (pid !== undefined)
        this.o.log.warn("ended the process a killed server left running for this pod", {
          component: "runtime",
          pod: `${this.o.namespace}/${this.o.name}`,
          pid,
        });
    }
    let first = true;
    while (!this.stopping) {
      if (!first) this.status.restartCount++;
      first = false;
      const started = Date.now();
      const exit = await this.runOnce();
      if (this.stopping || exit === null) return;
      const delay = this.backoff.next(Date.now() - started);
      this.o.log.warn("pod exited; restarting after back-off", {
        component: "runtime",
        pod: `${this.o.namespace}/${this.o.name}`,
        exitCode: exit.code,
        signal: exit.signal,
        exit: describeExit(exit),
        restarts: this.status.restartCount,
        restartInMs: delay,
      });
      this.set({
        podIP: undefined,
        ready: false,
        readyReason: "ContainerExited",
        readyMessage: `the process exited (${describeExit(exit)})`,
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
      this.o.log.error("pod cannot start", {
        component: "runtime",
        pod: `${this.o.namespace}/${this.o.name}`,
        error: (err as Error).message,
      });
      return { code: 127, signal: null };
    }
    if (this.stopping) {
      // stop() raced the spawn and saw no process yet
      await child.stop(this.o.graceMs);
      return null;
    }
    if (this.o.pidFile && child.pid !== undefined) writePidFile(this.o.pidFile, child.pid);
    const now = new Date().toISOString();
    this.status.startTime ??= now;
    this.set({ phase: "Running", pid: child.pid, state: { running: { startedAt: now } } });
    this.startProbes(child);
    const exit = await child.wait();
    // Ready False the moment the process is gone, before anything else
    this.stopProbes();
    child.killGroup();
    return this.stopping ? null : exit;
  }

  /**
   * Readiness (Ready condition, podIP) and liveness (restart) checks for this
   * run. Liveness starts once the pod was first Ready (the role of
   * Kubernetes' startupProbe): a slow start is not a hang.
   */
  private startProbes(child: Child): void {
    const current = () => this.child === child && !child.exited && !this.stopping && !this.draining;
    const target = { host: this.o.hostIP, ports: () => this.storedPorts() };
    const liveness = this.o.livenessProbe;
    let startLiveness = () => {
      startLiveness = () => {};
      if (!liveness || !current()) return;
      const prober = new Prober({
        spec: liveness,
        check: () => runCheck(liveness, target),
        initial: true,
        onChange: (alive, message) => {
          if (!alive && current()) void this.restartUnhealthy(child, message);
        },
      });
      this.probers.push(prober);
      prober.start();
    };
    const readiness = this.o.readinessProbe ?? (this.o.ports > 0 ? defaultReadiness() : undefined);
    if (!readiness) {
      this.markReady(true);
      startLiveness();
      return;
    }
    const prober = new Prober({
      spec: readiness,
      check: () => runCheck(readiness, target),
      initial: false,
      untilFirstPassMs: FIRST_READY_POLL_MS,
      onChange: (ready, message) => {
        if (!current()) return;
        this.markReady(ready, message);
        if (ready) startLiveness();
      },
    });
    this.probers.push(prober);
    this.readiness = prober;
    prober.start();
  }

  private markReady(ready: boolean, message?: string): void {
    if (ready) {
      this.set({ podIP: this.o.hostIP, ready, readyReason: undefined, readyMessage: undefined });
    } else {
      this.set({
        podIP: undefined,
        ready,
        readyReason: "ReadinessProbeFailed",
        readyMessage: message,
      });
    }
  }

  /** Liveness failed: out of routing at once, then stop the process; run() restarts it. */
  private async restartUnhealthy(child: Child, message: string): Promise<void> {
    this.o.log.warn("liveness probe failed; restarting the pod", {
      component: "runtime",
      pod: `${this.o.namespace}/${this.o.name}`,
      reason: message,
    });
    this.stopProbes();
    this.set({
      podIP: undefined,
      ready: false,
      readyReason: "LivenessProbeFailed",
      readyMessage: message,
    });
    await child.stop(this.o.graceMs);
  }

  /** The pod's AUTO_PORTn as stored (the agent API writes them as domeize reports). */
  private async storedPorts(): Promise<number[]> {
    const kv = await this.o.store.get(`/registry/pods/${this.o.namespace}/${this.o.name}`);
    return kv ? podAutoPorts(JSON.parse(kv.value) as PodObject) : [];
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
      this.publishedReady = s.ready;
    } catch (err) {
      this.o.log.warn("pod status write failed; retrying", {
        component: "runtime",
        pod: `${this.o.namespace}/${this.o.name}`,
        error: (err as Error).message,
      });
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
  setReadyConditions(pod, s.ready, s.readyReason, s.readyMessage);
  if (s.deletionTimestamp) {
    pod.metadata.deletionTimestamp = s.deletionTimestamp;
    pod.metadata.deletionGracePeriodSeconds = s.deletionGracePeriodSeconds;
  }
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
