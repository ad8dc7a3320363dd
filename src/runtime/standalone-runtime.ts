// The standalone runtime: runs host-mode deployments as local processes
// (each replica through domeize, with a pod's environment), keeps one pod
// object per replica in the store, scales, deletes, stops cleanly and, when
// started again, adopts the pods it finds in the store (same names, so the
// server's ledger hands each replica its previous ports).
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { podReady } from "../server/deploy/pod-summary.js";
import { RevisionHistory } from "../server/deploy/rollout-store.js";
import { type Logger, silentLogger } from "../server/log/logger.js";
import { podKey, type Store } from "../store/store.js";
import { type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.js";
import { type DrainOptions, waitUnrouted } from "./drain.js";
import {
  KEEP_DELETED_LOGS_MS,
  keepLogs,
  keptLogs,
  type LogFiles,
  pruneKeptLogs,
} from "./kept-logs.js";
import { endLeftover } from "./pid-file.js";
import { podArgv, podEnv } from "./pod-env.js";
import { newPodObject, type PodObject, podDeployName } from "./pod-object.js";
import { createPod, listPods, updatePod } from "./pod-writer.js";
import { type LeaveResult, Replica } from "./replica.js";
import { type PodState, RolloutController, type RolloutHost } from "./rollout-controller.js";
import type { PodContext, PodRuntimeLike, RuntimeDeployment } from "./types.js";

export interface StandaloneRuntimeOptions {
  store: Store;
  /** Pods' working dirs and logs go under `<dataDir>/pods/<ns>/<pod>/`. */
  dataDir: string;
  /** DOMEOS_SERVER_ADDR given to pods when ensure() gets no context. */
  serverAddr?: string;
  clusterName: string;
  /** The pod credential (DOMEOS_AGENT_TOKEN) when ensure() gets no context. */
  mintToken?: (cluster: string, namespace: string, pod: string, uid: string) => string;
  /** Absolute path of the domeize executable. */
  domeizeBin: string;
  /** The host's address: status.hostIP and podIP (default 127.0.0.1). */
  hostIP?: string;
  nodeName?: string;
  /** The server's port range (given to domeize as AVAILABLE_PORT_START/END). */
  portRange?: { min: number; max: number };
  backoff?: BackoffOptions;
  /** How a stopping pod is known to be out of the load balancers before its SIGTERM. */
  drain?: DrainOptions;
  /** SIGTERM-to-SIGKILL grace period (default 5 s). */
  graceMs?: number;
  /** Structured log (levels: a crash is warn, a pod that cannot start is error). */
  log?: Logger;
  /** How long a deleted pod's logs stay readable (default 1 h; 0: deleted with the pod). */
  keepDeletedLogsMs?: number;
}

export interface PodPaths {
  dir: string;
  workDir: string;
  /** The running process group's leader (pid-file.ts). */
  pidFile: string;
  stdout: string;
  stderr: string;
}

export class StandaloneRuntime extends EventEmitter implements PodRuntimeLike {
  private readonly replicas = new Map<string, Replica>();
  /** Serialises operations per deployment (ensure/remove may race otherwise). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** The last context the server gave for each deployment (address, credentials). */
  private readonly contexts = new Map<string, PodContext>();
  /** One rollout controller per deployment (scaling and rolling updates). */
  private readonly controllers = new Map<string, RolloutController>();
  private readonly history: RevisionHistory;
  private readonly rolloutHost: RolloutHost;
  private stopped = false;
  readonly hostIP: string;
  readonly nodeName: string;

  constructor(private readonly o: StandaloneRuntimeOptions) {
    super();
    this.hostIP = o.hostIP ?? "127.0.0.1";
    this.nodeName = o.nodeName ?? "standalone";
    this.history = new RevisionHistory(o.store);
    this.rolloutHost = this.makeRolloutHost();
  }

  /**
   * Make the deployment's replicas exist and run what it says: adopt, create,
   * scale down, or roll to a new template (rollout-controller.ts). Resolves
   * once the first step is taken; a rollout goes on in the background.
   */
  ensure(d: RuntimeDeployment, ctx?: PodContext): Promise<void> {
    const key = `${d.namespace}/${d.name}`;
    if (ctx) this.contexts.set(key, ctx);
    if (this.stopped) return Promise.resolve();
    let c = this.controllers.get(key);
    if (!c) {
      c = new RolloutController(this.rolloutHost, d);
      this.controllers.set(key, c);
    }
    return c.ensure(d);
  }

  /** Stop and delete every replica of a deployment. */
  async remove(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    this.contexts.delete(key);
    const c = this.controllers.get(key);
    this.controllers.delete(key);
    await c?.close();
    return this.serial(namespace, name, async () => {
      const pods = await this.storedPods(namespace, name);
      await Promise.all(
        pods.map((p) => this.deletePod(p.metadata.namespace, p.metadata.name, name)),
      );
      rmSync(this.templatesDir(namespace, name), { recursive: true, force: true });
    });
  }

  /** The cluster whose deployments this runtime runs (CLUSTER_NAME by default). */
  get clusterName(): string {
    return this.o.clusterName;
  }

  /** Stop every process (pods stay in the store, marked not running). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.controllers.values()].map((c) => c.close()));
    await Promise.allSettled([...this.queues.values()]);
    const all = [...this.replicas.values()];
    this.replicas.clear();
    await this.drain(all, false);
    await Promise.all(all.map((r) => r.stop()));
  }

  /**
   * Take replicas out of routing and wait until the load balancers applied
   * it (see drain.ts); their processes keep running and serving meanwhile.
   */
  private async drain(replicas: Replica[], deleting: boolean): Promise<void> {
    const left: LeaveResult[] = await Promise.all(replicas.map((r) => r.leaveRouting(deleting)));
    const revisions = left.filter((l) => l.wasRoutable).map((l) => l.revision ?? 0);
    if (revisions.length === 0) return;
    const t0 = Date.now();
    const outcome = await waitUnrouted(Math.max(...revisions), this.o.drain ?? {});
    const names = replicas.map((r) => r.name).join(", ");
    const ms = Date.now() - t0;
    this.emit(
      "drained",
      replicas.map((r) => r.name),
      outcome,
    );
    if (outcome === "timeout")
      this.o.log?.warn("the load balancer did not confirm the drain; stopping anyway", {
        component: "runtime",
        pods: names,
        waitedMs: ms,
      });
    else this.o.log?.debug("drained", { component: "runtime", pods: names, outcome, waitedMs: ms });
  }

  /** Paths of a pod's working dir and logs. */
  paths(namespace: string, pod: string): PodPaths {
    const dir = join(this.o.dataDir, "pods", namespace, pod);
    return {
      dir,
      workDir: join(dir, "work"),
      pidFile: join(dir, "pid"),
      stdout: join(dir, "stdout.log"),
      stderr: join(dir, "stderr.log"),
    };
  }

  /** A pod's logs: its live files, or the kept ones of a deleted pod of `deployment`. */
  logFiles(namespace: string, pod: string, deployment: string): LogFiles | undefined {
    const live = this.paths(namespace, pod);
    if (existsSync(live.dir)) return live;
    return keptLogs(this.o.dataDir, namespace, pod, deployment);
  }

  /** The running replica of a pod (pid, in-memory status), if this runtime runs it. */
  replica(namespace: string, pod: string): Replica | undefined {
    return this.replicas.get(podKey(namespace, pod));
  }

  /** What the rollout controllers do through this runtime. */
  private makeRolloutHost(): RolloutHost {
    return {
      pods: (d) => this.storedPods(d.namespace, d.name),
      podState: (pod) => this.podState(pod),
      adopt: (d, pods) => {
        if (this.stopped) return;
        for (const pod of pods) this.run(this.templateOf(d, pod), pod);
      },
      relabel: async (pod, revision) => {
        await updatePod(this.o.store, pod.metadata.namespace, pod.metadata.name, (p) => {
          p.metadata.labels = { ...p.metadata.labels, podRevision: String(revision) };
        });
      },
      create: async (d, n) => {
        if (this.stopped) return;
        this.saveTemplate(d);
        const pods = Array.from({ length: n }, () => this.newPod(d));
        await Promise.all(
          pods.map(async (pod) => {
            if (await createPod(this.o.store, pod)) this.run(d, pod);
          }),
        );
      },
      remove: async (d, names) => {
        await Promise.all(names.map((n) => this.deletePod(d.namespace, n, d.name)));
      },
      rollout: (d) => this.history.rollout(d.namespace, d.name),
      finish: async (d, phase, reason) => {
        await this.history.finishRollout(d.namespace, d.name, d.revision ?? 1, {
          phase,
          ...(reason ? { reason } : {}),
        });
        this.emit("rollout", d.namespace, d.name, phase, reason);
      },
      serial: (d, fn) => this.serial(d.namespace, d.name, fn),
      log: this.o.log ?? silentLogger,
    };
  }

  /** A pod's readiness, restarts and last exit: in memory when it runs here, else as stored. */
  private podState(pod: PodObject): PodState {
    const r = this.replicas.get(podKey(pod.metadata.namespace, pod.metadata.name));
    if (!r) {
      const cs = pod.status?.containerStatuses?.[0];
      return { ready: podReady(pod), restarts: cs?.restartCount ?? 0 };
    }
    const s = r.status;
    const t = s.lastState?.terminated;
    return {
      ready: s.ready,
      restarts: s.restartCount,
      ...(t ? { lastExit: t.signal ? `signal ${t.signal}` : `exit code ${t.exitCode}` } : {}),
      ...(s.ready
        ? {}
        : {
            notReady:
              [s.readyReason, s.readyMessage].filter(Boolean).join(": ") ||
              (r.readinessFailure ? `readiness probe: ${r.readinessFailure}` : "not ready yet"),
          }),
    };
  }

  private templatesDir(namespace: string, name: string): string {
    return join(this.o.dataDir, "templates", namespace, name);
  }

  /**
   * Keep what a template runs (by its hash) in the data dir: after a restart
   * mid-rollout, an old pod comes back with its own command and env, not the
   * new revision's.
   */
  private saveTemplate(d: RuntimeDeployment): void {
    if (!d.templateHash) return;
    const dir = this.templatesDir(d.namespace, d.name);
    const file = join(dir, `${d.templateHash}.json`);
    if (existsSync(file)) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(d));
  }

  /** The deployment as `pod` should run it: its own template when it is an old pod. */
  private templateOf(d: RuntimeDeployment, pod: PodObject): RuntimeDeployment {
    const hash = pod.metadata.labels?.podTemplateHash;
    if (!hash || hash === d.templateHash) return d;
    try {
      const file = join(this.templatesDir(d.namespace, d.name), `${hash}.json`);
      return {
        ...(JSON.parse(readFileSync(file, "utf8")) as RuntimeDeployment),
        replicas: d.replicas,
      };
    } catch {
      return d; // unknown template (written by another data dir): the current one
    }
  }

  private newPod(d: RuntimeDeployment): PodObject {
    const name = `${d.name}-${randomSuffix()}`;
    const p = this.paths(d.namespace, name);
    const uid = randomUUID();
    return newPodObject({
      deployment: d,
      name,
      uid,
      nodeName: this.nodeName,
      hostIP: this.hostIP,
      argv: podArgv(this.o.domeizeBin, d.command),
      env: this.env(d, name, uid, p.workDir),
      workingDir: p.workDir,
    });
  }

  private env(
    d: RuntimeDeployment,
    pod: string,
    uid: string,
    home: string,
  ): Record<string, string> {
    const ctx = this.contexts.get(`${d.namespace}/${d.name}`);
    const cluster = d.cluster ?? this.o.clusterName;
    return podEnv({
      deployment: d,
      podName: pod,
      serverAddr: ctx?.serverAddr ?? this.o.serverAddr ?? "",
      clusterName: cluster,
      portRange: this.o.portRange,
      token: ctx?.podToken(pod, uid) ?? this.o.mintToken?.(cluster, d.namespace, pod, uid) ?? "",
      path: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      home,
    });
  }

  /** Start a replica for a stored pod unless it already runs here. */
  private run(d: RuntimeDeployment, pod: PodObject): void {
    if (pod.metadata.deletionTimestamp !== undefined) return; // being deleted: the controller finishes it
    const { namespace, name } = pod.metadata;
    const key = podKey(namespace, name);
    if (this.replicas.has(key)) return;
    const p = this.paths(namespace, name);
    mkdirSync(p.workDir, { recursive: true });
    const replica = new Replica({
      store: this.o.store,
      namespace,
      name,
      hostIP: this.hostIP,
      // fresh env on each (re)start of the server: the address or token may have changed
      argv: podArgv(this.o.domeizeBin, d.command),
      env: this.env(d, name, pod.metadata.uid, p.workDir),
      cwd: p.workDir,
      stdoutPath: p.stdout,
      stderrPath: p.stderr,
      pidFile: p.pidFile,
      ports: d.ports,
      readinessProbe: d.readinessProbe,
      livenessProbe: d.livenessProbe,
      backoff: this.o.backoff ?? DEFAULT_BACKOFF,
      graceMs: this.o.graceMs ?? 5000,
      restartCount: pod.status?.containerStatuses?.[0]?.restartCount ?? 0,
      log: this.o.log ?? silentLogger,
      onChange: () => {
        this.emit("change", namespace, name);
        this.controllers.get(`${d.namespace}/${d.name}`)?.wake();
      },
    });
    this.replicas.set(key, replica);
    replica.start();
    this.emit("change", namespace, name);
  }

  private async deletePod(namespace: string, name: string, deployment?: string): Promise<void> {
    const key = podKey(namespace, name);
    const replica = this.replicas.get(key);
    this.replicas.delete(key);
    if (replica) {
      await this.drain([replica], true);
      await replica.kill();
    } else {
      await endLeftover(this.paths(namespace, name).pidFile);
    }
    await this.o.store.delete(key);
    const paths = this.paths(namespace, name);
    const retention = this.o.keepDeletedLogsMs ?? KEEP_DELETED_LOGS_MS;
    if (retention > 0 && deployment !== undefined)
      keepLogs(this.o.dataDir, namespace, name, deployment, paths);
    rmSync(paths.dir, { recursive: true, force: true });
    pruneKeptLogs(this.o.dataDir, retention);
    this.emit("change", namespace, name);
  }

  /** The deployment's pods of this node only: another runtime's pods are never adopted or deleted here. */
  private async storedPods(namespace: string, deployName: string): Promise<PodObject[]> {
    const pods = await listPods(this.o.store, namespace);
    const ours = (n: string | undefined) => n === this.nodeName || n === "standalone";
    return pods.filter((p) => podDeployName(p) === deployName && ours(p.spec?.nodeName));
  }

  private serial<T>(namespace: string, name: string, fn: () => Promise<T>): Promise<T> {
    const k = `${namespace}/${name}`;
    const prev = this.queues.get(k) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => {});
    this.queues.set(k, settled);
    void settled.then(() => {
      if (this.queues.get(k) === settled) this.queues.delete(k);
    });
    return next;
  }
}

const SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789";

/** Kubernetes-style 5-character pod name suffix. */
function randomSuffix(): string {
  let s = "";
  for (let i = 0; i < 5; i++) s += SUFFIX_CHARS[Math.floor(Math.random() * SUFFIX_CHARS.length)];
  return s;
}
