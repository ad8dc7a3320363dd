// *** FAKE *** Kubernetes apiserver, for tests only. No real apiserver can
// run on the test machines, so this serves the small slice of the core/v1
// pods API the Kubernetes store adapter uses, the way the real one answers
// (as recorded from kube-apiserver 1.28 responses):
//
//   GET    /api/v1/pods, /api/v1/namespaces/{ns}/pods   list (limit/continue), or watch=true
//   GET    /api/v1/namespaces/{ns}/pods/{name}          read
//   PATCH  /api/v1/namespaces/{ns}/pods/{name}          application/merge-patch+json only;
//                                                       metadata.resourceVersion is a precondition (409)
//   DELETE /api/v1/namespaces/{ns}/pods/{name}          with optional preconditions.resourceVersion
//
// resourceVersion is one global counter, like etcd revisions behind a real
// apiserver. Watches replay history after the given resourceVersion and
// answer a compacted one with an ERROR event carrying a 410 Status. Every
// request is recorded (method, path, content type, body) for assertions.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Json = Record<string, unknown>;
interface PodEntry {
  ns: string;
  name: string;
  pod: Json;
}
interface HistoryEvent {
  rv: number;
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

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** Bearer token required on every request (the adapter must send auth). */
  readonly token = "fake-token";
  private server: Server | null = null;
  private rv = 100;
  private compactedRv = 0;
  private readonly pods = new Map<string, PodEntry>();
  private readonly history: HistoryEvent[] = [];
  private readonly watchers = new Set<(e: HistoryEvent) => void>();
  private readonly open = new Set<ServerResponse>();

  get url(): string {
    const addr = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${addr.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = null;
  }

  /** What the kubelet/scheduler would do: create or replace a pod. */
  upsertPod(pod: Json): number {
    const meta = pod.metadata as Json;
    const ns = String(meta.namespace ?? "default");
    const name = String(meta.name);
    const k = `${ns}/${name}`;
    const existed = this.pods.has(k);
    const rv = ++this.rv;
    const stored = { apiVersion: "v1", kind: "Pod", ...structuredClone(pod) } as Json;
    (stored.metadata as Json).namespace = ns;
    (stored.metadata as Json).resourceVersion = String(rv);
    this.pods.set(k, { ns, name, pod: stored });
    this.emit({ rv, type: existed ? "MODIFIED" : "ADDED", pod: stored });
    return rv;
  }

  removePod(ns: string, name: string): number {
    const e = this.pods.get(`${ns}/${name}`);
    if (!e) throw new Error(`fake apiserver: no pod ${ns}/${name}`);
    this.pods.delete(`${ns}/${name}`);
    const rv = ++this.rv;
    const pod = structuredClone(e.pod);
    (pod.metadata as Json).resourceVersion = String(rv);
    this.emit({ rv, type: "DELETED", pod });
    return rv;
  }

  /** Forget watch history up to `rv` (etcd compaction behind the apiserver). */
  compact(rv: number): void {
    this.compactedRv = rv;
    while (this.history.length > 0 && this.history[0].rv <= rv) this.history.shift();
  }

  /** Drop every open watch connection (what an apiserver restart looks like). */
  dropWatches(): void {
    for (const res of this.open) res.destroy();
  }

  pod(ns: string, name: string): Json | undefined {
    return this.pods.get(`${ns}/${name}`)?.pod;
  }

  private emit(e: HistoryEvent): void {
    this.history.push(e);
    for (const w of this.watchers) w(e);
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
    const list = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods$/.exec(url.pathname);
    const one = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (list && req.method === "GET") {
      if (url.searchParams.get("watch") === "true") return this.watch(list[1], url, res);
      return this.list(list[1], url, res);
    }
    if (one && req.method === "GET") return this.read(one[1], one[2], res);
    if (one && req.method === "PATCH") return this.patch(one[1], one[2], req, body, res);
    if (one && req.method === "DELETE") return this.remove(one[1], one[2], body, res);
    return status(res, 404, "NotFound", `the server could not find the requested resource`);
  }

  private list(ns: string | undefined, url: URL, res: ServerResponse): void {
    const all = [...this.pods.values()]
      .filter((e) => ns === undefined || e.ns === ns)
      .sort((a, b) => `${a.ns}/${a.name}`.localeCompare(`${b.ns}/${b.name}`));
    const limit = Number(url.searchParams.get("limit") ?? 0) || all.length;
    const start = Number(url.searchParams.get("continue") ?? 0);
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    // Real list items carry no kind/apiVersion.
    const items = page.map(({ pod }) => {
      const { kind: _k, apiVersion: _a, ...rest } = pod;
      return rest;
    });
    json(res, 200, {
      kind: "PodList",
      apiVersion: "v1",
      metadata: {
        resourceVersion: String(this.rv),
        ...(more ? { continue: String(start + limit) } : {}),
      },
      items,
    });
  }

  private read(ns: string, name: string, res: ServerResponse) {
    const e = this.pods.get(`${ns}/${name}`);
    if (!e) return status(res, 404, "NotFound", `pods "${name}" not found`);
    json(res, 200, e.pod);
  }

  private patch(ns: string, name: string, req: IncomingMessage, body: string, res: ServerResponse) {
    if (req.headers["content-type"] !== "application/merge-patch+json") {
      return status(res, 415, "UnsupportedMediaType", `unsupported ${req.headers["content-type"]}`);
    }
    const e = this.pods.get(`${ns}/${name}`);
    if (!e) return status(res, 404, "NotFound", `pods "${name}" not found`);
    const patch = JSON.parse(body) as Json;
    const wantRv = (patch.metadata as Json | undefined)?.resourceVersion;
    if (wantRv !== undefined && wantRv !== (e.pod.metadata as Json).resourceVersion) {
      return status(
        res,
        409,
        "Conflict",
        `Operation cannot be fulfilled on pods "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const merged = mergePatch(structuredClone(e.pod), patch) as Json;
    this.upsertPod(merged);
    json(res, 200, this.pods.get(`${ns}/${name}`)!.pod);
  }

  private remove(ns: string, name: string, body: string, res: ServerResponse) {
    const e = this.pods.get(`${ns}/${name}`);
    if (!e) return status(res, 404, "NotFound", `pods "${name}" not found`);
    const pre = body ? ((JSON.parse(body) as Json).preconditions as Json | undefined) : undefined;
    if (
      pre?.resourceVersion !== undefined &&
      pre.resourceVersion !== (e.pod.metadata as Json).resourceVersion
    ) {
      return status(res, 409, "Conflict", `Precondition failed: ResourceVersion in precondition`);
    }
    this.removePod(ns, name);
    json(res, 200, e.pod);
  }

  private watch(ns: string | undefined, url: URL, res: ServerResponse): void {
    const from = Number(url.searchParams.get("resourceVersion") ?? this.rv);
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders(); // the real apiserver answers a watch at once, events follow
    const send = (type: string, object: unknown) =>
      res.write(`${JSON.stringify({ type, object })}\n`);
    if (from < this.compactedRv) {
      send("ERROR", {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        message: `too old resource version: ${from} (${this.compactedRv + 1})`,
        reason: "Expired",
        code: 410,
      });
      res.end();
      return;
    }
    const forward = (e: HistoryEvent) => {
      const eNs = (e.pod.metadata as Json).namespace;
      if (e.rv > from && (ns === undefined || eNs === ns)) send(e.type, e.pod);
    };
    for (const e of this.history) forward(e);
    this.watchers.add(forward);
    this.open.add(res);
    res.on("close", () => {
      this.watchers.delete(forward);
      this.open.delete(res);
    });
  }
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out = (
    typeof target === "object" && target !== null && !Array.isArray(target) ? target : {}
  ) as Json;
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code });
}
