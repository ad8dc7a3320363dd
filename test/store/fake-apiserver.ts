// *** FAKE *** Kubernetes apiserver, for tests only. No real apiserver can
// run on the test machines, so this serves the slice of the core/v1 pods API
// the Kubernetes store adapter and confd use, behaving as kube-apiserver does
// in every respect a client can rely on (API conventions, "Resource
// versions" and "Efficient detection of changes" in the Kubernetes docs):
//
//   resourceVersion  opaque strings that are deliberately not numbers, so a
//                    client that parses or computes with them fails here
//   GET    /api/v1/pods, /api/v1/namespaces/{ns}/pods   list: labelSelector
//          (equality-based), limit/continue, later
//          pages from the first page's snapshot; a continue token older than a
//          compaction answers 410 Gone (HTTP status, reason Expired)
//   GET    ...?watch=true   watch: from resourceVersion R the events after R; R
//          unset or "0" sends the current pods as synthetic ADDED first; R older
//          than the compaction: an ERROR event with a 410 Status, then the end;
//          R unknown: 400; allowWatchBookmarks=true: BOOKMARK events (bookmark());
//          timeoutSeconds ends the stream
//   GET    /api/v1/namespaces/{ns}/pods/{name}   read
//   PATCH  same path   application/merge-patch+json (RFC 7386),
//          application/strategic-merge-patch+json (maps as merge patch, lists
//          with a merge key merged by it), application/json-patch+json (RFC 6902);
//          anything else 415. metadata.resourceVersion in a merge patch is a
//          precondition (409 Conflict); a patch that changes nothing keeps the
//          resourceVersion and sends no event
//   DELETE same path   preconditions.resourceVersion (409); a pod bound to a node
//          (spec.nodeName) is deleted gracefully: deletionTimestamp is set
//          (MODIFIED) and the pod goes when the kubelet confirms (confirmDeletion)
//
//   /apis/apps/v1 Deployments and ReplicaSets, /api/v1 Secrets, and a FAKE
//   Deployment controller: fake-apps.ts (this.apps, for tests to drive it)
//
// Every request is recorded (method, path, content type, body) for assertions.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { FakeApps, failureStatus, parseSelector } from "./fake-apps.js";
import { applyPatch, PATCH_TYPES, PatchTestFailed } from "./fake-patch.js";

type Json = Record<string, unknown>;
interface PodEntry {
  ns: string;
  name: string;
  pod: Json;
}
interface HistoryEvent {
  seq: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  pod: Json;
}
export interface RecordedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: string;
}
interface ListSnapshot {
  seq: number;
  items: Json[];
}

const RV_PREFIX = "fake-rv.";

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** Bearer token required on every request (the adapter must send auth). */
  readonly token = "fake-token";
  private server: Server | null = null;
  /** The store's revision (etcd behind the apiserver); clients see it only as an opaque string. */
  private seq = 100;
  private compactedSeq = 0;
  private readonly pods = new Map<string, PodEntry>();
  private readonly history: HistoryEvent[] = [];
  private readonly watchers = new Set<{ send: (e: HistoryEvent) => void; bookmark: () => void }>();
  private readonly open = new Set<ServerResponse>();
  private readonly snapshots = new Map<string, ListSnapshot>();
  private nextSnapshot = 1;
  /** Deployments, ReplicaSets, Secrets and the FAKE Deployment controller (same resourceVersions). */
  readonly apps = new FakeApps(() => rvString(++this.seq));

  get url(): string {
    const addr = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${addr.port}`;
  }

  /** A client configuration for this server (its URL and bearer token). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "fake-user", token: this.token }],
      contexts: [{ name: "fake", cluster: "fake", user: "fake-user" }],
      currentContext: "fake",
    });
    return kc;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) status(res, 500, "InternalError", String(err));
        else res.destroy();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
  }

  async stop(): Promise<void> {
    this.apps.stop();
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = null;
  }

  /** What the kubelet/scheduler would do: create or replace a pod. Returns its resourceVersion. */
  upsertPod(pod: Json): string {
    const meta = pod.metadata as Json;
    const ns = String(meta.namespace ?? "default");
    const name = String(meta.name);
    const existed = this.pods.has(`${ns}/${name}`);
    const stored = { apiVersion: "v1", kind: "Pod", ...structuredClone(pod) } as Json;
    const m = stored.metadata as Json;
    m.namespace = ns;
    const before = this.pods.get(`${ns}/${name}`)?.pod.metadata as Json | undefined;
    m.uid ??= before?.uid ?? `uid-${ns}-${name}-${this.seq}`;
    return this.store(ns, name, stored, existed ? "MODIFIED" : "ADDED");
  }

  /** The pod is gone at once (the kubelet confirmed, or it never ran). */
  removePod(ns: string, name: string): string {
    const e = this.pods.get(`${ns}/${name}`);
    if (!e) throw new Error(`fake apiserver: no pod ${ns}/${name}`);
    this.pods.delete(`${ns}/${name}`);
    const seq = ++this.seq;
    const pod = structuredClone(e.pod);
    (pod.metadata as Json).resourceVersion = rvString(seq);
    this.emit({ seq, type: "DELETED", pod });
    return rvString(seq);
  }

  /** The kubelet's confirmation of a graceful deletion (the pod's containers stopped). */
  confirmDeletion(ns: string, name: string): string {
    const e = this.pods.get(`${ns}/${name}`);
    if (!(e?.pod.metadata as Json | undefined)?.deletionTimestamp)
      throw new Error(`fake apiserver: pod ${ns}/${name} is not being deleted`);
    return this.removePod(ns, name);
  }

  /** Forget history up to and including resourceVersion `rv` (etcd compaction behind the apiserver). */
  compact(rv: string): void {
    const seq = seqOf(rv);
    if (seq === undefined)
      throw new Error(
        `fake apiserver: compact(${JSON.stringify(rv)}): not a resourceVersion of this server`,
      );
    this.compactedSeq = seq;
    while (this.history.length > 0 && this.history[0]!.seq <= seq) this.history.shift();
    for (const [k, snap] of this.snapshots) if (snap.seq <= seq) this.snapshots.delete(k);
  }

  /** Send a BOOKMARK (the current resourceVersion, returned) to every watch that allowed bookmarks. */
  bookmark(): string {
    for (const w of this.watchers) w.bookmark();
    return rvString(this.seq);
  }

  /** The current resourceVersion (what a list would report). */
  currentRv(): string {
    return rvString(this.seq);
  }

  /** End every open watch cleanly, after what was sent (the apiserver's watch timeout). */
  endWatches(): void {
    for (const res of this.open) res.end();
  }

  /** Drop every open watch connection (what an apiserver restart looks like). */
  dropWatches(): void {
    for (const res of this.open) res.destroy();
  }

  pod(ns: string, name: string): Json | undefined {
    return this.pods.get(`${ns}/${name}`)?.pod;
  }

  private store(ns: string, name: string, pod: Json, type: HistoryEvent["type"]): string {
    const seq = ++this.seq;
    (pod.metadata as Json).resourceVersion = rvString(seq);
    this.pods.set(`${ns}/${name}`, { ns, name, pod });
    this.emit({ seq, type, pod });
    return rvString(seq);
  }

  private emit(e: HistoryEvent): void {
    this.history.push(e);
    for (const w of this.watchers) w.send(e);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = "";
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? "/", "http://fake");
    this.requests.push({
      method: req.method ?? "",
      path: url.pathname + url.search,
      contentType: req.headers["content-type"],
      authorization: req.headers.authorization,
      body,
    });
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return status(res, 401, "Unauthorized", "Unauthorized");
    }
    const apps = this.apps.handle(req.method ?? "", url, req.headers["content-type"] ?? "", body);
    if (apps) return json(res, apps.code, apps.body);
    const list = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods$/.exec(url.pathname);
    const one = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (list && req.method === "GET") {
      if (url.searchParams.get("watch") === "true") return this.watch(list[1], url, res);
      return this.list(list[1], url, res);
    }
    if (one && req.method === "GET") return this.read(one[1]!, one[2]!, res);
    if (one && req.method === "PATCH") return this.patch(one[1]!, one[2]!, req, body, res);
    if (one && req.method === "DELETE") return this.remove(one[1]!, one[2]!, body, res);
    return status(res, 404, "NotFound", "the server could not find the requested resource");
  }

  private list(ns: string | undefined, url: URL, res: ServerResponse) {
    let selected: (labels: Record<string, string>) => boolean;
    try {
      selected = parseSelector(url.searchParams.get("labelSelector") ?? "");
    } catch (err) {
      return status(res, 400, "BadRequest", (err as Error).message);
    }
    const limit = Number(url.searchParams.get("limit") ?? 0);
    const cont = url.searchParams.get("continue");
    let snap: ListSnapshot;
    let start = 0;
    if (cont) {
      const [id, offset] = cont.split(":");
      const found = this.snapshots.get(id ?? "");
      if (!found) {
        return status(
          res,
          410,
          "Expired",
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      snap = found;
      start = Number(offset);
    } else {
      snap = {
        seq: this.seq,
        items: [...this.pods.values()]
          .filter((e) => ns === undefined || e.ns === ns)
          .filter((e) =>
            selected(((e.pod.metadata as Json).labels ?? {}) as Record<string, string>),
          )
          .sort((a, b) => `${a.ns}/${a.name}`.localeCompare(`${b.ns}/${b.name}`))
          // Real list items carry no kind/apiVersion.
          .map(({ pod }) => {
            const { kind: _k, apiVersion: _a, ...rest } = structuredClone(pod);
            return rest;
          }),
      };
    }
    const n = limit > 0 ? limit : snap.items.length;
    const page = snap.items.slice(start, start + n);
    const more = start + n < snap.items.length;
    let next: string | undefined;
    if (more) {
      const id = cont ? cont.split(":")[0]! : `snap${this.nextSnapshot++}`;
      this.snapshots.set(id, snap);
      next = `${id}:${start + n}`;
    }
    json(res, 200, {
      kind: "PodList",
      apiVersion: "v1",
      metadata: { resourceVersion: rvString(snap.seq), ...(next ? { continue: next } : {}) },
      items: page,
    });
  }

  private read(ns: string, name: string, res: ServerResponse) {
    const e = this.pods.get(`${ns}/${name}`);
    if (!e) return status(res, 404, "NotFound", `pods "${name}" not found`);
    json(res, 200, e.pod);
  }

  private patch(ns: string, name: string, req: IncomingMessage, body: string, res: ServerResponse) {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
    const e = this.pods.get(`${ns}/${name}`);
    if (!PATCH_TYPES.has(type)) {
      return status(
        res,
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: ${[...PATCH_TYPES].join(", ")}`,
      );
    }
    if (!e) return status(res, 404, "NotFound", `pods "${name}" not found`);
    let patch: unknown;
    try {
      patch = JSON.parse(body);
    } catch (err) {
      return status(res, 400, "BadRequest", `error decoding patch: ${(err as Error).message}`);
    }
    let merged: Json;
    try {
      merged = applyPatch(type, structuredClone(e.pod), patch);
    } catch (err) {
      const code = err instanceof PatchTestFailed ? 422 : 400;
      return status(res, code, code === 422 ? "Invalid" : "BadRequest", (err as Error).message);
    }
    const cur = e.pod.metadata as Json;
    const want = (merged.metadata as Json | undefined)?.resourceVersion;
    if (want !== undefined && want !== cur.resourceVersion) {
      return status(
        res,
        409,
        "Conflict",
        `Operation cannot be fulfilled on pods "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const m = merged.metadata as Json;
    // Immutable identity: name, namespace, uid stay; resourceVersion is the server's.
    m.name = cur.name;
    m.namespace = cur.namespace;
    m.uid = cur.uid;
    m.resourceVersion = cur.resourceVersion;
    if (JSON.stringify(merged) === JSON.stringify(e.pod)) return json(res, 200, e.pod); // no-op
    this.store(ns, name, merged, "MODIFIED");
    json(res, 200, this.pods.get(`${ns}/${name}`)!.pod);
  }

  private remove(ns: string, name: string, body: string, res: ServerResponse) {
    const e = this.pods.get(`${ns}/${name}`);
    if (!e) return status(res, 404, "NotFound", `pods "${name}" not found`);
    const opts = body ? (JSON.parse(body) as Json) : {};
    const pre = opts.preconditions as Json | undefined;
    const meta = e.pod.metadata as Json;
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
      return status(
        res,
        409,
        "Conflict",
        `Operation cannot be fulfilled on Pod "${name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`,
      );
    }
    const bound = (e.pod.spec as Json | undefined)?.nodeName !== undefined;
    const grace = Number(opts.gracePeriodSeconds ?? 30);
    if (!bound || grace === 0) {
      this.removePod(ns, name);
      return json(res, 200, e.pod);
    }
    if (meta.deletionTimestamp === undefined) {
      const marked = structuredClone(e.pod);
      (marked.metadata as Json).deletionTimestamp = new Date(Date.now() + grace * 1000)
        .toISOString()
        .replace(/\.\d+Z$/, "Z");
      (marked.metadata as Json).deletionGracePeriodSeconds = grace;
      this.store(ns, name, marked, "MODIFIED");
    }
    json(res, 200, this.pods.get(`${ns}/${name}`)!.pod);
  }

  private watch(ns: string | undefined, url: URL, res: ServerResponse) {
    const rv = url.searchParams.get("resourceVersion") ?? "";
    const bookmarks = url.searchParams.get("allowWatchBookmarks") === "true";
    const synthetic = rv === "" || rv === "0";
    const from = synthetic ? this.seq : seqOf(rv);
    if (from === undefined || from > this.seq) {
      return status(
        res,
        400,
        "BadRequest",
        `resourceVersion: Invalid value: ${JSON.stringify(rv)}`,
      );
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders(); // the real apiserver answers a watch at once, events follow
    // an ended stream (endWatches, timeoutSeconds) gets nothing more before its "close"
    const send = (type: string, object: unknown) => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    // Events after `from` need history from from+1 on.
    if (!synthetic && from < this.compactedSeq) {
      send(
        "ERROR",
        failureStatus(
          410,
          "Expired",
          `too old resource version: ${rv} (${rvString(this.compactedSeq)})`,
        ),
      );
      res.end();
      return;
    }
    const inNs = (pod: Json) => ns === undefined || (pod.metadata as Json).namespace === ns;
    if (synthetic) {
      for (const e of [...this.pods.values()].sort((a, b) =>
        `${a.ns}/${a.name}`.localeCompare(`${b.ns}/${b.name}`),
      )) {
        if (inNs(e.pod)) send("ADDED", e.pod);
      }
    }
    const watcher = {
      send: (e: HistoryEvent) => {
        if (e.seq > from && inNs(e.pod)) send(e.type, e.pod);
      },
      bookmark: () => {
        if (bookmarks)
          send("BOOKMARK", {
            kind: "Pod",
            apiVersion: "v1",
            metadata: { resourceVersion: rvString(this.seq) },
          });
      },
    };
    for (const e of this.history) watcher.send(e);
    this.watchers.add(watcher);
    this.open.add(res);
    const timeout = Number(url.searchParams.get("timeoutSeconds") ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on("close", () => {
      clearTimeout(timer);
      this.watchers.delete(watcher);
      this.open.delete(res);
    });
  }
}

/** Opaque on the wire; the fake alone knows the sequence number inside. */
function rvString(seq: number): string {
  return `${RV_PREFIX}${seq.toString(36)}`;
}

function seqOf(rv: string): number | undefined {
  if (!rv.startsWith(RV_PREFIX)) return undefined;
  const n = Number.parseInt(rv.slice(RV_PREFIX.length), 36);
  return Number.isSafeInteger(n) && rvString(n) === rv ? n : undefined;
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, failureStatus(code, reason, message));
}
