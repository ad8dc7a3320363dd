// *** FAKE *** apps/v1 Deployments and ReplicaSets and core/v1 Secrets for
// the FAKE apiserver (fake-apiserver.ts), with a minimal FAKE Deployment
// controller. No real apiserver or controller-manager can run on the test
// machines; this behaves as they do in what the Kubernetes runtime relies on:
//
//   PATCH  .../deployments/{name}, .../secrets/{name}
//          application/apply-patch+yaml (server-side apply; fieldManager is
//          required; creates when absent; the applied fields replace the ones
//          the manager applied before, the controller's annotations stay),
//          merge, strategic merge and JSON patch of an existing object;
//          metadata.resourceVersion in the body is a precondition (409)
//   GET    .../deployments/{name}, .../replicasets/{name}, .../secrets/{name}
//   GET    .../deployments, .../replicasets ?labelSelector=k=v,k!=v,k (equality-based)
//   DELETE .../deployments/{name} (its ReplicaSets go with it: the garbage
//          collector's background deletion, done at once here), .../secrets/{name}
//   Every Deployment or Secret written is validated against its OpenAPI
//          schema (kubernetes-models, as test/server/manifests.test.ts does):
//          422 Invalid, nothing stored; then the test's admission webhook
//          (admit()) may deny it: 403, nothing stored.
//   Deployment: defaults filled in as the apiserver does (strategy 25%/25%,
//          revisionHistoryLimit 10, progressDeadlineSeconds 600, ...);
//          metadata.generation rises on every spec change, never on metadata;
//          the selector must match the template's labels and is immutable (422).
//
// The FAKE controller (what kube-controller-manager's deployment controller
// does, reduced to counts: pods are counted, not created as Pod objects):
// on a Deployment whose template matches none of its ReplicaSets it creates
// one named {deployment}-{pod-template-hash} with the next
// `deployment.kubernetes.io/revision`, a controller ownerReference and the
// Deployment's annotations; a template that matches an older ReplicaSet (a
// rollback) adopts it and moves it to the next revision (the old number goes
// to `deployment.kubernetes.io/revision-history`). It rolls with the
// strategy's maxSurge/maxUnavailable: the new ReplicaSet grows while the
// total stays within replicas+maxSurge, old ones shrink while the available
// pods stay at least replicas-maxUnavailable. A pod is Ready unless the test
// said its template never becomes Ready (podsNeverReady). A rollout that
// makes no progress (no pod count of its ReplicaSets changes) for the
// Deployment's progressDeadlineSeconds is marked Progressing=False,
// ProgressDeadlineExceeded, as the controller does; exceedProgressDeadline()
// makes the deadline pass at once.
// Status: observedGeneration, replicas, updatedReplicas, readyReplicas,
// availableReplicas, unavailableReplicas, conditions Available/Progressing.
// The controller runs asynchronously after each write (a client may see
// generation > observedGeneration for a moment, as with the real one);
// controllerIdle() waits for it, pauseController() holds it.

import { parse as parseYaml } from "yaml";
import { validateK8sObject } from "../support/k8s-schema.js";
import { applyPatch, PATCH_TYPES, PatchTestFailed } from "./fake-patch.js";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are walked as plain JSON
type Json = Record<string, any>;

export interface FakeAnswer {
  code: number;
  body: unknown;
}

type Kind = "Deployment" | "ReplicaSet" | "Secret";
const RESOURCES: Record<string, { kind: Kind; apiVersion: string }> = {
  "apps/v1/deployments": { kind: "Deployment", apiVersion: "apps/v1" },
  "apps/v1/replicasets": { kind: "ReplicaSet", apiVersion: "apps/v1" },
  "v1/secrets": { kind: "Secret", apiVersion: "v1" },
};
const PATH =
  /^\/(?:api\/(v1)|apis\/(apps\/v1))\/namespaces\/([^/]+)\/(deployments|replicasets|secrets)(?:\/([^/]+))?$/;

const APPLY = "application/apply-patch+yaml";
const REVISION = "deployment.kubernetes.io/revision";
const REVISION_HISTORY = "deployment.kubernetes.io/revision-history";
const HASH_LABEL = "pod-template-hash";
/** Deployment annotations the controller does not copy to its ReplicaSets (deploymentutil). */
const NOT_COPIED = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION,
  REVISION_HISTORY,
  "deployment.kubernetes.io/desired-replicas",
  "deployment.kubernetes.io/max-replicas",
  "deprecated.deployment.rollback.to",
]);

export class FakeApps {
  private readonly objects = new Map<string, Json>();
  private readonly neverReady: ((template: Json) => boolean)[] = [];
  /** UIDs of ReplicaSets whose rollout passed its progress deadline. */
  private readonly timedOut = new Set<string>();
  /** Per Deployment (ns/name): the UID of the ReplicaSet its latest rollout goes to. */
  private readonly rollingTo = new Map<string, string>();
  /** Per new ReplicaSet UID: when its rollout last made progress, and the timer of its deadline. */
  private readonly progress = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly dirty = new Set<string>();
  private paused = false;
  private scheduled: Promise<void> | null = null;
  private nextUid = 1;
  private lastRv = "";
  private admission: ((obj: Json) => string | undefined) | null = null;

  /** `nextRv`: the apiserver's next resourceVersion (shared with pods, as etcd's revision is). */
  constructor(private readonly nextRv: () => string) {}

  /** The answer for an apps/secrets request, or undefined when the path is not one of them. */
  handle(method: string, url: URL, contentType: string, body: string): FakeAnswer | undefined {
    const m = PATH.exec(url.pathname);
    if (!m) return undefined;
    const res = RESOURCES[`${m[1] ?? m[2]}/${m[4]}`];
    if (!res) return undefined;
    const ns = decodeURIComponent(m[3]!);
    const name = m[5] === undefined ? undefined : decodeURIComponent(m[5]);
    if (name === undefined) {
      if (method === "GET") return this.list(res.kind, res.apiVersion, ns, url);
      return status(405, "MethodNotAllowed", `${method} is not supported on this collection`);
    }
    if (method === "GET") return this.read(res.kind, ns, name);
    if (method === "PATCH" && res.kind !== "ReplicaSet")
      return this.patch(res.kind, res.apiVersion, ns, name, url, contentType, body);
    if (method === "DELETE" && res.kind !== "ReplicaSet") return this.remove(res.kind, ns, name);
    return status(405, "MethodNotAllowed", `${method} is not supported by this FAKE apiserver`);
  }

  /** The stored object (a copy), for assertions. */
  get(kind: Kind, ns: string, name: string): Json | undefined {
    const o = this.objects.get(key(kind, ns, name));
    return o && structuredClone(o);
  }

  /** ReplicaSets of a namespace, oldest revision first (for assertions). */
  replicaSets(ns: string): Json[] {
    return this.all("ReplicaSet", ns)
      .sort((a, b) => revisionOf(a) - revisionOf(b))
      .map((o) => structuredClone(o));
  }

  /** Pods of templates matching `pred` never become Ready (a crash loop, a failing probe). */
  podsNeverReady(pred: (template: Json) => boolean): void {
    this.neverReady.push(pred);
    for (const d of this.all("Deployment")) this.schedule(d.metadata.namespace, d.metadata.name);
  }

  /**
   * The progress deadline of the deployment's current rollout passes now.
   * False when there is nothing to time out (no rollout, or it completed).
   */
  exceedProgressDeadline(ns: string, name: string): boolean {
    const dep = this.objects.get(key("Deployment", ns, name));
    const rs = dep && this.newReplicaSet(dep);
    if (!dep || !rs || this.complete(dep, rs)) return false;
    this.timedOut.add(rs.metadata.uid);
    this.schedule(ns, name);
    return true;
  }

  /**
   * A validating admission webhook (test switch; null removes it): a message
   * denies the Deployment or Secret write with 403, as the apiserver answers
   * a webhook's denial (a policy, a quota the server's checks know nothing of).
   */
  admit(check: ((obj: Json) => string | undefined) | null): void {
    this.admission = check;
  }

  /** Hold the controller: writes are stored but not observed (generation > observedGeneration). */
  pauseController(): void {
    this.paused = true;
  }

  resumeController(): void {
    this.paused = false;
    for (const k of this.dirty) {
      const [ns, name] = k.split("/") as [string, string];
      this.schedule(ns, name);
    }
  }

  /** Stop the deadline timers (the server is closing). */
  stop(): void {
    for (const p of this.progress.values()) clearTimeout(p.timer);
    this.progress.clear();
  }

  /** Resolves once the controller has handled every write so far. */
  async controllerIdle(): Promise<void> {
    while (this.scheduled) await this.scheduled;
  }

  private all(kind: Kind, ns?: string): Json[] {
    return [...this.objects.values()].filter(
      (o) => o.kind === kind && (ns === undefined || o.metadata.namespace === ns),
    );
  }

  private list(kind: Kind, apiVersion: string, ns: string, url: URL): FakeAnswer {
    let match: (labels: Record<string, string>) => boolean;
    try {
      match = parseSelector(url.searchParams.get("labelSelector") ?? "");
    } catch (err) {
      return status(400, "BadRequest", (err as Error).message);
    }
    const items = this.all(kind, ns)
      .filter((o) => match(o.metadata.labels ?? {}))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((o) => {
        // real list items carry no kind/apiVersion
        const { kind: _k, apiVersion: _a, ...rest } = structuredClone(o);
        return rest;
      });
    return {
      code: 200,
      body: {
        kind: `${kind}List`,
        apiVersion,
        metadata: { resourceVersion: this.currentRv() },
        items,
      },
    };
  }

  private currentRv(): string {
    // a list's resourceVersion: the newest write's (opaque: never compared)
    return this.lastRv;
  }

  private read(kind: Kind, ns: string, name: string): FakeAnswer {
    const o = this.objects.get(key(kind, ns, name));
    if (!o) return notFound(kind, name);
    return { code: 200, body: structuredClone(o) };
  }

  private patch(
    kind: Kind,
    apiVersion: string,
    ns: string,
    name: string,
    url: URL,
    contentType: string,
    body: string,
  ): FakeAnswer {
    const type = contentType.split(";")[0]!.trim();
    const cur = this.objects.get(key(kind, ns, name));
    let next: Json;
    if (type === APPLY) {
      if (!url.searchParams.get("fieldManager"))
        return status(
          422,
          "Invalid",
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      let applied: Json;
      try {
        applied = parseYaml(body) as Json;
      } catch (err) {
        return status(400, "BadRequest", `error decoding YAML: ${(err as Error).message}`);
      }
      const bad = checkApplied(applied, kind, apiVersion, ns, name);
      if (bad) return bad;
      next = mergeApplied(cur, applied);
    } else if (PATCH_TYPES.has(type)) {
      if (!cur) return notFound(kind, name);
      try {
        next = applyPatch(type, structuredClone(cur), JSON.parse(body));
      } catch (err) {
        const code = err instanceof PatchTestFailed ? 422 : 400;
        return status(code, code === 422 ? "Invalid" : "BadRequest", (err as Error).message);
      }
    } else {
      return status(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: ${[APPLY, ...PATCH_TYPES].join(", ")}`,
      );
    }
    const want = next.metadata?.resourceVersion;
    if (cur && want !== undefined && want !== cur.metadata.resourceVersion)
      return status(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${plural(kind)}.${group(apiVersion)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    return this.write(kind, ns, name, cur, next);
  }

  private write(kind: Kind, ns: string, name: string, cur: Json | undefined, next: Json) {
    next.kind = kind;
    next.apiVersion = RESOURCES[resourceOf(kind)]!.apiVersion;
    const m = next.metadata;
    m.name = name;
    m.namespace = ns;
    m.uid = cur?.metadata.uid ?? `fake-uid-${this.nextUid++}`;
    m.creationTimestamp = cur?.metadata.creationTimestamp ?? now();
    m.resourceVersion = cur?.metadata.resourceVersion;
    // the apiserver validates every write against the type's schema (422, nothing stored)
    const invalid = schemaProblem(next);
    if (invalid)
      return status(422, "Invalid", `${qualified(kind)} "${name}" is invalid: ${invalid}`);
    const denied = this.admission?.(structuredClone(next));
    if (denied)
      return status(
        403,
        "Forbidden",
        `admission webhook "fake.domeos.test" denied the request: ${denied}`,
      );
    if (kind === "Secret") encodeStringData(next);
    if (kind === "Deployment") {
      defaultDeployment(next);
      const problems = deploymentProblems(next, cur);
      if (problems)
        return status(422, "Invalid", `Deployment.apps "${name}" is invalid: ${problems}`);
      next.status = cur?.status ?? {};
      m.generation = cur?.metadata.generation ?? 1;
      if (cur && canonical(cur.spec) !== canonical(next.spec)) m.generation++;
    }
    if (cur && canonical(cur) === canonical(next)) return { code: 200, body: structuredClone(cur) };
    this.store(next);
    if (kind === "Deployment") this.schedule(ns, name);
    return { code: cur ? 200 : 201, body: structuredClone(next) };
  }

  private store(obj: Json): void {
    obj.metadata.resourceVersion = this.nextRv();
    this.lastRv = obj.metadata.resourceVersion;
    this.objects.set(key(obj.kind, obj.metadata.namespace, obj.metadata.name), obj);
  }

  private remove(kind: Kind, ns: string, name: string): FakeAnswer {
    const o = this.objects.get(key(kind, ns, name));
    if (!o) return notFound(kind, name);
    this.objects.delete(key(kind, ns, name));
    if (kind === "Deployment")
      for (const rs of this.owned(o)) this.objects.delete(key("ReplicaSet", ns, rs.metadata.name));
    return {
      code: 200,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        details: { name, kind: plural(kind), uid: o.metadata.uid },
      },
    };
  }

  // ---- the FAKE deployment controller ----

  private schedule(ns: string, name: string): void {
    this.dirty.add(`${ns}/${name}`);
    if (this.paused || this.scheduled) return;
    this.scheduled = new Promise<void>((resolve) =>
      setImmediate(() => {
        try {
          for (const k of [...this.dirty]) {
            this.dirty.delete(k);
            const [n, d] = k.split("/") as [string, string];
            this.sync(n, d);
          }
        } finally {
          this.scheduled = null;
          resolve();
        }
      }),
    );
  }

  private owned(dep: Json): Json[] {
    return this.all("ReplicaSet", dep.metadata.namespace).filter((rs) =>
      (rs.metadata.ownerReferences ?? []).some(
        (o: Json) => o.controller === true && o.uid === dep.metadata.uid,
      ),
    );
  }

  private newReplicaSet(dep: Json): Json | undefined {
    const want = canonical(dep.spec.template);
    return this.owned(dep).find((rs) => canonical(withoutHash(rs.spec.template)) === want);
  }

  private ready(rs: Json): number {
    return this.neverReady.some((p) => p(rs.spec.template)) ? 0 : rs.spec.replicas;
  }

  private complete(dep: Json, rs: Json): boolean {
    const sets = this.owned(dep);
    const total = sets.reduce((n, s) => n + s.spec.replicas, 0);
    return (
      rs.spec.replicas === dep.spec.replicas &&
      total === dep.spec.replicas &&
      this.ready(rs) === dep.spec.replicas
    );
  }

  private sync(ns: string, name: string): void {
    const stored = this.objects.get(key("Deployment", ns, name));
    if (!stored) return;
    const dep = structuredClone(stored);
    const before = new Map(this.owned(dep).map((rs) => [rs.metadata.name, canonical(rs)]));
    const counts = new Map(
      this.owned(dep).map((rs) => [rs.metadata.name, canonicalCounts(rs, this.ready(rs))]),
    );
    const maxRevision = Math.max(0, ...this.owned(dep).map(revisionOf));
    let rs = this.newReplicaSet(dep);
    const created = rs === undefined;
    if (!rs) {
      rs = newReplicaSetFor(dep, maxRevision + 1, `fake-uid-${this.nextUid++}`);
    } else if (revisionOf(rs) < maxRevision) {
      // a rollback: the old ReplicaSet is the new one, under the next revision
      rs = structuredClone(rs);
      const a = rs.metadata.annotations;
      a[REVISION_HISTORY] = [a[REVISION_HISTORY], a[REVISION]].filter(Boolean).join(",");
      a[REVISION] = String(maxRevision + 1);
    } else rs = structuredClone(rs);
    this.newRollout(`${ns}/${name}`, rs.metadata.uid);
    copyAnnotations(dep, rs);
    const olds = this.owned(dep)
      .filter((o) => o.metadata.name !== rs.metadata.name)
      .map((o) => structuredClone(o))
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    this.roll(dep, rs, olds);
    const progressed =
      created ||
      [rs, ...olds].some((o) => counts.get(o.metadata.name) !== canonicalCounts(o, this.ready(o)));
    for (const o of [rs, ...olds]) {
      o.status = {
        replicas: o.spec.replicas,
        fullyLabeledReplicas: o.spec.replicas,
        readyReplicas: this.ready(o),
        availableReplicas: this.ready(o),
        observedGeneration: o.metadata.generation,
      };
      if (before.get(o.metadata.name) !== canonical(o)) this.store(o);
    }
    this.cleanup(dep);
    dep.metadata.annotations = { ...dep.metadata.annotations, [REVISION]: String(revisionOf(rs)) };
    dep.status = this.deploymentStatus(dep, rs, olds, created);
    if (canonical(dep) !== canonical(stored)) this.store(dep);
    this.watchDeadline(dep, rs, progressed);
  }

  /** A rollout to another ReplicaSet starts afresh: the last one's deadline no longer counts. */
  private newRollout(deployment: string, uid: string): void {
    const last = this.rollingTo.get(deployment);
    if (last === uid) return;
    if (last !== undefined) {
      clearTimeout(this.progress.get(last)?.timer);
      this.progress.delete(last);
    }
    this.timedOut.delete(uid);
    this.rollingTo.set(deployment, uid);
  }

  /**
   * The deadline of the rollout to `rs`: progressDeadlineSeconds after its
   * last progress, unless it completes first.
   */
  private watchDeadline(dep: Json, rs: Json, progressed: boolean): void {
    const uid: string = rs.metadata.uid;
    const seen = this.progress.get(uid);
    if (this.complete(dep, rs) || this.timedOut.has(uid)) {
      if (seen) clearTimeout(seen.timer);
      this.progress.delete(uid);
      return;
    }
    if (seen && !progressed) return;
    if (seen) clearTimeout(seen.timer);
    const { namespace: ns, name } = dep.metadata;
    const timer = setTimeout(() => {
      this.progress.delete(uid);
      this.timedOut.add(uid);
      this.schedule(ns, name);
    }, dep.spec.progressDeadlineSeconds * 1000);
    timer.unref();
    this.progress.set(uid, { at: Date.now(), timer });
  }

  /** One reconcile's scaling, repeated until stable (each step of a real rollout, at once). */
  private roll(dep: Json, rs: Json, olds: Json[]): void {
    const desired: number = dep.spec.replicas;
    const { surge, unavailable } = limits(dep);
    const setReplicas = (o: Json, n: number) => {
      if (o.spec.replicas === n) return false;
      o.spec.replicas = n;
      o.metadata.generation = (o.metadata.generation ?? 0) + 1;
      return true;
    };
    if (olds.every((o) => o.spec.replicas === 0)) {
      setReplicas(rs, desired);
      return;
    }
    for (let changed = true; changed; ) {
      changed = false;
      const total = rs.spec.replicas + olds.reduce((n, o) => n + o.spec.replicas, 0);
      const up = Math.min(desired - rs.spec.replicas, desired + surge - total);
      if (up > 0) changed = setReplicas(rs, rs.spec.replicas + up) || changed;
      if (rs.spec.replicas > desired) changed = setReplicas(rs, desired) || changed;
      // old pods that are not Ready go first: they serve nothing
      for (const o of olds) changed = setReplicas(o, this.ready(o)) || changed;
      let canScaleDown =
        this.ready(rs) + olds.reduce((n, o) => n + this.ready(o), 0) - (desired - unavailable);
      for (const o of olds) {
        const down = Math.min(o.spec.replicas, Math.max(0, canScaleDown));
        if (down > 0) changed = setReplicas(o, o.spec.replicas - down) || changed;
        canScaleDown -= down;
      }
    }
  }

  /** Old ReplicaSets with no pods beyond revisionHistoryLimit go, oldest first. */
  private cleanup(dep: Json): void {
    const limit: number = dep.spec.revisionHistoryLimit;
    const current = revisionOf(dep);
    const idle = this.owned(dep)
      .filter((o) => o.spec.replicas === 0 && revisionOf(o) !== current)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const o of idle.slice(0, Math.max(0, idle.length - limit)))
      this.objects.delete(key("ReplicaSet", o.metadata.namespace, o.metadata.name));
  }

  private deploymentStatus(dep: Json, rs: Json, olds: Json[], created: boolean): Json {
    const desired: number = dep.spec.replicas;
    const all = [rs, ...olds];
    const replicas = all.reduce((n, o) => n + o.spec.replicas, 0);
    const ready = all.reduce((n, o) => n + this.ready(o), 0);
    const { unavailable } = limits(dep);
    const prev: Json[] = dep.status?.conditions ?? [];
    const name = rs.metadata.name;
    const complete = rs.spec.replicas === desired && replicas === desired && ready === desired;
    let progressing: Json;
    if (this.timedOut.has(rs.metadata.uid) && !complete)
      progressing = cond(
        "Progressing",
        "False",
        "ProgressDeadlineExceeded",
        `ReplicaSet "${name}" has timed out progressing.`,
      );
    else if (complete)
      progressing = cond(
        "Progressing",
        "True",
        "NewReplicaSetAvailable",
        `ReplicaSet "${name}" has successfully progressed.`,
      );
    else if (created)
      progressing = cond(
        "Progressing",
        "True",
        "NewReplicaSetCreated",
        `Created new replica set "${name}"`,
      );
    else
      progressing = cond(
        "Progressing",
        "True",
        "ReplicaSetUpdated",
        `ReplicaSet "${name}" is progressing.`,
      );
    const available =
      ready >= desired - unavailable
        ? cond(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
          )
        : cond(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
          );
    return {
      observedGeneration: dep.metadata.generation,
      replicas,
      updatedReplicas: rs.spec.replicas,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, replicas - ready),
      conditions: [available, progressing].map((c) => keepTransition(c, prev)),
    };
  }
}

function key(kind: string, ns: string, name: string): string {
  return `${kind}/${ns}/${name}`;
}

function resourceOf(kind: Kind): string {
  return Object.entries(RESOURCES).find(([, r]) => r.kind === kind)![0];
}

const plural = (kind: Kind) => `${kind.toLowerCase()}s`;
const group = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "");
/** Deployment.apps, Secret: how the apiserver names a kind in its messages. */
const qualified = (kind: Kind) => {
  const g = group(RESOURCES[resourceOf(kind)]!.apiVersion);
  return g ? `${kind}.${g}` : kind;
};

function revisionOf(o: Json): number {
  return Number(o.metadata?.annotations?.[REVISION] ?? 0);
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** JSON with sorted keys: equal objects compare equal whatever their key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(
          Object.keys(val)
            .sort()
            .map((k) => [k, val[k]]),
        )
      : val,
  );
}

/** What counts as progress of a ReplicaSet: its pods, and how many are Ready. */
function canonicalCounts(rs: Json, ready: number): string {
  return `${rs.spec.replicas}/${ready}`;
}

function withoutHash(template: Json): Json {
  const t = structuredClone(template);
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  return t;
}

function notFound(kind: Kind, name: string): FakeAnswer {
  return status(
    404,
    "NotFound",
    `${plural(kind)}${kind === "Secret" ? "" : ".apps"} "${name}" not found`,
  );
}

function status(code: number, reason: string, message: string): FakeAnswer {
  return { code, body: failureStatus(code, reason, message) };
}

/** The apiserver's Status object of a failed request. */
export function failureStatus(code: number, reason: string, message: string) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
}

/** The schema's complaint about a written object (kubernetes-models: the OpenAPI schema), "" when valid. */
function schemaProblem(obj: Json): string {
  try {
    validateK8sObject(obj);
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

/** An applied configuration names the object of the URL (the apiserver's 400s). */
function checkApplied(
  applied: Json,
  kind: Kind,
  apiVersion: string,
  ns: string,
  name: string,
): FakeAnswer | undefined {
  if (applied === null || typeof applied !== "object" || Array.isArray(applied))
    return status(400, "BadRequest", "the applied configuration must be an object");
  if (applied.apiVersion !== apiVersion || applied.kind !== kind)
    return status(
      400,
      "BadRequest",
      `the API version in the data (${applied.apiVersion}) and kind (${applied.kind}) do not match the expected ${apiVersion} ${kind}`,
    );
  const m = applied.metadata ?? {};
  if (m.name !== name)
    return status(
      400,
      "BadRequest",
      `the name of the object (${m.name}) does not match the name on the URL (${name})`,
    );
  if (m.namespace !== undefined && m.namespace !== ns)
    return status(
      400,
      "BadRequest",
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  return undefined;
}

/**
 * Server-side apply with one manager besides the controller (FAKE: no
 * per-field ownership): what the manager applies replaces what it applied
 * before; server-set metadata and the controller's annotations stay.
 */
function mergeApplied(cur: Json | undefined, applied: Json): Json {
  const next = structuredClone(applied);
  next.metadata = { ...next.metadata };
  const keep = Object.entries(cur?.metadata.annotations ?? {}).filter(([k]) =>
    k.startsWith("deployment.kubernetes.io/"),
  );
  if (keep.length > 0)
    next.metadata.annotations = { ...Object.fromEntries(keep), ...next.metadata.annotations };
  return next;
}

function encodeStringData(secret: Json): void {
  if (!secret.stringData) return;
  secret.data = { ...secret.data };
  for (const [k, v] of Object.entries(secret.stringData as Record<string, string>))
    secret.data[k] = Buffer.from(v).toString("base64");
  delete secret.stringData;
}

/** The apiserver's defaults for an apps/v1 Deployment (those a client can see here). */
function defaultDeployment(dep: Json): void {
  dep.spec ??= {};
  const s = dep.spec;
  s.replicas ??= 1;
  s.strategy ??= { type: "RollingUpdate" };
  if (s.strategy.type === "RollingUpdate")
    s.strategy.rollingUpdate = {
      maxSurge: "25%",
      maxUnavailable: "25%",
      ...s.strategy.rollingUpdate,
    };
  s.revisionHistoryLimit ??= 10;
  s.progressDeadlineSeconds ??= 600;
  s.template ??= {};
  s.template.spec ??= {};
  const pod = s.template.spec;
  pod.restartPolicy ??= "Always";
  pod.dnsPolicy ??= "ClusterFirst";
  pod.schedulerName ??= "default-scheduler";
  pod.terminationGracePeriodSeconds ??= 30;
  pod.securityContext ??= {};
}

/** Validation the apiserver does that a rollout depends on ("" when valid). */
function deploymentProblems(dep: Json, cur: Json | undefined): string {
  const sel = dep.spec.selector?.matchLabels;
  if (!sel) return "spec.selector: Required value";
  const labels = dep.spec.template?.metadata?.labels ?? {};
  if (!Object.entries(sel).every(([k, v]) => labels[k] === v))
    return `spec.template.metadata.labels: Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``;
  if (cur && canonical(cur.spec.selector) !== canonical(dep.spec.selector))
    return `spec.selector: Invalid value: ${JSON.stringify(dep.spec.selector)}: field is immutable`;
  if (!Number.isInteger(dep.spec.replicas) || dep.spec.replicas < 0)
    return `spec.replicas: Invalid value: ${dep.spec.replicas}: must be greater than or equal to 0`;
  return "";
}

/** maxSurge/maxUnavailable as pod counts (percentages: surge rounds up, unavailable down). */
function limits(dep: Json): { surge: number; unavailable: number } {
  const ru = dep.spec.strategy?.rollingUpdate ?? {};
  const count = (v: unknown, up: boolean) => {
    if (typeof v === "number") return v;
    const pct = Number(String(v).replace(/%$/, "")) / 100;
    return up ? Math.ceil(pct * dep.spec.replicas) : Math.floor(pct * dep.spec.replicas);
  };
  const surge = count(ru.maxSurge ?? "25%", true);
  const unavailable = count(ru.maxUnavailable ?? "25%", false);
  // both 0 is refused by the apiserver; the controller would then allow one surge pod
  return surge === 0 && unavailable === 0 ? { surge: 1, unavailable: 0 } : { surge, unavailable };
}

function newReplicaSetFor(dep: Json, revision: number, uid: string): Json {
  const hash = templateHash(dep.spec.template);
  const template = structuredClone(dep.spec.template);
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [HASH_LABEL]: hash },
  };
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${dep.metadata.name}-${hash}`,
      namespace: dep.metadata.namespace,
      uid,
      creationTimestamp: now(),
      generation: 1,
      labels: template.metadata.labels,
      annotations: { [REVISION]: String(revision) },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          name: dep.metadata.name,
          uid: dep.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { ...dep.spec.selector.matchLabels, [HASH_LABEL]: hash } },
      template,
    },
  };
}

/** The controller copies the Deployment's annotations to its new ReplicaSet, and notes the scale. */
function copyAnnotations(dep: Json, rs: Json): void {
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  for (const [k, v] of Object.entries(dep.metadata.annotations ?? {}))
    if (!NOT_COPIED.has(k)) a[k] = v;
  a["deployment.kubernetes.io/desired-replicas"] = String(dep.spec.replicas);
  a["deployment.kubernetes.io/max-replicas"] = String(dep.spec.replicas + limits(dep).surge);
}

/** FNV-1a (32 bit) of the template, in the controller's safe alphabet (no vowels, no 0/1/3). */
function templateHash(template: Json): string {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(canonical(template))) {
    h ^= ch;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let out = "";
  for (; h > 0; h = Math.floor(h / alphabet.length)) out += alphabet[h % alphabet.length];
  return out || alphabet[0]!;
}

function cond(type: string, st: string, reason: string, message: string): Json {
  const t = now();
  return { type, status: st, reason, message, lastUpdateTime: t, lastTransitionTime: t };
}

/** lastTransitionTime moves only when the status does; lastUpdateTime only when something changed. */
function keepTransition(c: Json, prev: Json[]): Json {
  const p = prev.find((x) => x.type === c.type);
  if (!p) return c;
  if (p.status === c.status && p.reason === c.reason && p.message === c.message) return p;
  return p.status === c.status ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
}

/** Equality-based label selectors: k=v, k==v, k!=v, k, !k (comma = and). */
export function parseSelector(text: string): (labels: Record<string, string>) => boolean {
  const reqs = text
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const m = /^(!?)([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*))?$/.exec(r);
      if (!m) throw new Error(`unable to parse requirement: ${JSON.stringify(r)}`);
      const [, not, k, op, v] = m;
      if (not && op) throw new Error(`unable to parse requirement: ${JSON.stringify(r)}`);
      return (l: Record<string, string>) =>
        op === undefined ? k! in l !== (not === "!") : op === "!=" ? l[k!] !== v : l[k!] === v;
    });
  return (labels) => reqs.every((req) => req(labels));
}
