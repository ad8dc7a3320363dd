// Drives one deployment of the standalone runtime towards what it should run:
// scaling, and rolling updates one step at a time (rolling-plan.ts). Each new
// pod must be Ready before an old one is drained (confirmed by the load
// balancers, drain.ts) and stopped. The rollout's outcome is written to the
// store (rollout-store.ts): Complete, or Failed when a new pod crash-loops or
// no progress is made within the progress deadline; a Failed rollout stops
// where it is (the failing pods are removed, the old ones keep serving) until
// the deployment is changed again. Every step reads the pods from the store,
// so a restarted server continues a rollout where the last one left it.
import type { RolloutRecord } from "../server/deploy/rollout-store.js";
import type { Logger } from "../server/log/logger.js";
import type { PodObject } from "./pod-object.js";
import { isComplete, type PlanPod, planStep } from "./rolling-plan.js";
import type { RuntimeDeployment } from "./types.js";

/** A new pod restarted this many times without becoming Ready fails the rollout. */
export const CRASH_LOOP_RESTARTS = 3;
export const DEFAULT_PROGRESS_DEADLINE_S = 120;
/** Steps run on every pod event of the deployment, and at least this often. */
const TICK_MS = 1000;

/** What the controller needs from the runtime. */
export interface RolloutHost {
  /** This node's stored pods of the deployment. */
  pods(d: RuntimeDeployment): Promise<PodObject[]>;
  /** Readiness as the runtime knows it now (in memory when the pod runs here). */
  podState(pod: PodObject): PodState;
  /** Run every stored pod here that does not run yet (each with its own template). */
  adopt(d: RuntimeDeployment, pods: PodObject[]): void;
  /** Label a pod of the current template with the current revision. */
  relabel(pod: PodObject, revision: number): Promise<void>;
  create(d: RuntimeDeployment, n: number): Promise<void>;
  /** Drain and stop pods, then delete their objects. */
  remove(d: RuntimeDeployment, names: string[]): Promise<void>;
  rollout(d: RuntimeDeployment): Promise<RolloutRecord | null>;
  finish(d: RuntimeDeployment, phase: "Complete" | "Failed", reason?: string): Promise<void>;
  /** Serialises a step with the runtime's other operations on the deployment. */
  serial<T>(d: RuntimeDeployment, fn: () => Promise<T>): Promise<T>;
  log: Logger;
}

export interface PodState {
  ready: boolean;
  restarts: number;
  /** "exit code 3", "signal SIGKILL" of the last exit, if any. */
  lastExit?: string;
  /** Why not Ready (ReadinessProbeFailed: ...), if not. */
  notReady?: string;
}

/** The template a pod runs (podTemplateHash label; pods from before rollouts have none). */
export function isCurrentPod(pod: PodObject, d: RuntimeDeployment): boolean {
  const hash = pod.metadata.labels?.podTemplateHash;
  if (hash === undefined || d.templateHash === undefined) return (d.revision ?? 1) <= 1;
  return hash === d.templateHash;
}

export class RolloutController {
  private desired: RuntimeDeployment;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private closed = false;
  private progressMark = "";
  private lastProgressAt = Date.now();

  constructor(
    private readonly host: RolloutHost,
    d: RuntimeDeployment,
  ) {
    this.desired = d;
  }

  /** Work towards `d`; resolves once one step of it has been taken (creations, removals). */
  ensure(d: RuntimeDeployment): Promise<void> {
    this.desired = d;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.loop ??= this.run().finally(() => {
      this.loop = null;
    });
    this.wake();
    return done;
  }

  /** A pod of the deployment changed: look again now. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stop driving (the deployment is deleted or the runtime stops); waits for the current step. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const d = this.desired;
      let idle = false;
      // those who asked before this step started: it is the one they wait for
      const asked = this.waiters.splice(0);
      try {
        idle = await this.host.serial(d, () => this.step(d));
        failures = 0;
        for (const w of asked) w.resolve();
      } catch (err) {
        failures++;
        for (const w of asked) w.reject(err);
        this.host.log.warn("rollout step failed; retrying", {
          component: "runtime",
          deployment: `${d.namespace}/${d.name}`,
          error: (err as Error).message,
        });
      }
      if (this.closed) break;
      if (this.desired !== d || this.waiters.length > 0) continue;
      if (idle) break;
      await this.sleep(failures > 0 ? Math.min(30_000, TICK_MS * 2 ** failures) : TICK_MS);
    }
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  /** One step; true when there is nothing more to do until the deployment changes. */
  private async step(d: RuntimeDeployment): Promise<boolean> {
    const revision = d.revision ?? 1;
    const [record, stored] = await Promise.all([this.host.rollout(d), this.host.pods(d)]);
    // pods a stopped server left half deleted: finish their deletion first
    const dying = stored.filter((p) => p.metadata.deletionTimestamp !== undefined);
    if (dying.length > 0)
      await this.host.remove(
        d,
        dying.map((p) => p.metadata.name),
      );
    const pods = stored.filter((p) => p.metadata.deletionTimestamp === undefined);
    this.host.adopt(d, pods);
    const views = pods.map((pod) => ({
      pod,
      current: isCurrentPod(pod, d),
      ...this.host.podState(pod),
    }));
    for (const v of views)
      if (v.current && v.pod.metadata.labels?.podRevision !== String(revision))
        await this.host.relabel(v.pod, revision);
    const failed = record?.revision === revision && record.phase === "Failed";
    if (failed) return true; // stays as it is until the deployment changes again
    const input = {
      pods: views.map(
        (v): PlanPod => ({
          name: v.pod.metadata.name,
          current: v.current,
          ready: v.ready,
          age: v.pod.metadata.creationTimestamp + v.pod.metadata.name,
        }),
      ),
      replicas: d.replicas,
      maxSurge: d.strategy?.maxSurge ?? 1,
      maxUnavailable: d.strategy?.maxUnavailable ?? 0,
    };
    const progressing = !record || record.revision !== revision || record.phase === "Progressing";
    if (isComplete(input)) {
      if (progressing) await this.host.finish(d, "Complete");
      return true;
    }
    this.noteProgress(revision, views);
    const why = this.failure(d, views);
    if (why && progressing) {
      await this.fail(d, views, why);
      return true;
    }
    const plan = planStep(input);
    if (plan.remove.length > 0) await this.host.remove(d, plan.remove);
    if (plan.create > 0) await this.host.create(d, plan.create);
    // no rollout under way and nothing to do: pods restart by themselves
    return !progressing && plan.create === 0 && plan.remove.length === 0;
  }

  /** Progress: more Ready pods of the current template, or fewer old pods. */
  private noteProgress(revision: number, views: { current: boolean; ready: boolean }[]): void {
    const ready = views.filter((v) => v.current && v.ready).length;
    const old = views.filter((v) => !v.current).length;
    const mark = `${revision}/${ready}/${old}`;
    if (mark !== this.progressMark) {
      this.progressMark = mark;
      this.lastProgressAt = Date.now();
    }
  }

  /** Why the rollout fails now: a crash-looping new pod, or no progress within the deadline. */
  private failure(
    d: RuntimeDeployment,
    views: ({ pod: PodObject; current: boolean } & PodState)[],
  ): string | undefined {
    const fresh = views.filter((v) => v.current && !v.ready);
    const looping = fresh.find((v) => v.restarts >= CRASH_LOOP_RESTARTS);
    if (looping) {
      return `pod ${looping.pod.metadata.name} crash-looping: ${looping.lastExit ?? "exited"} (${looping.restarts} restarts)`;
    }
    const deadline = d.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_S;
    if (Date.now() - this.lastProgressAt < deadline * 1000) return undefined;
    const stuck = fresh[0];
    const detail = stuck
      ? `pod ${stuck.pod.metadata.name} not Ready: ${stuck.notReady ?? "no readiness yet"}${stuck.lastExit ? `; last exit ${stuck.lastExit}` : ""}`
      : "no pod could be replaced";
    return `no progress within the progress deadline (${deadline}s): ${detail}`;
  }

  /** Mark Failed, and take out the new pods that are not Ready while old ones still serve. */
  private async fail(
    d: RuntimeDeployment,
    views: ({ pod: PodObject; current: boolean; ready: boolean } & PodState)[],
    why: string,
  ): Promise<void> {
    this.host.log.warn("rollout failed; the old pods keep serving", {
      component: "runtime",
      deployment: `${d.namespace}/${d.name}`,
      revision: d.revision ?? 1,
      reason: why,
    });
    await this.host.finish(d, "Failed", why);
    if (views.some((v) => !v.current)) {
      const failing = views.filter((v) => v.current && !v.ready).map((v) => v.pod.metadata.name);
      if (failing.length > 0) await this.host.remove(d, failing);
    }
  }
}
