// Kubernetes API adapter: the pods of a real cluster seen through the Store
// interface, via @kubernetes/client-node (KubeConfig for in-cluster or
// kubeconfig auth, its fetch transport, its Watch).
//
//   key        /registry/pods/{namespace}/{name}    (the layout confd reads from etcd)
//   value      the Pod JSON (apiVersion/kind added to list items, as etcd holds them)
//   revision   a number standing for metadata.resourceVersion, which stays opaque:
//              never parsed, compared or computed with (kubernetes-rv.ts)
//   list       GET pods (all namespaces, or one when the prefix names it), paged;
//              an expired continue token (410) restarts the list
//   watch      GET pods?watch=true&allowWatchBookmarks=true after the resourceVersion
//              of revision fromRevision-1; bookmarks move the resume point;
//              410 Gone -> CompactedError (the caller re-lists)
//   put        JSON merge patch of metadata.annotations only (the one write the
//              server needs); expectModRevision becomes a resourceVersion precondition
//   delete     DELETE pod, with a resourceVersion precondition when asked
//
// Not supported (clear errors): keys outside /registry/pods/, creating pods
// through put, leases. createRevision is not exposed by the API and is
// reported equal to modRevision; version is metadata.generation (or 1).

import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  Watch as KubeWatch,
  RequestContext,
} from "@kubernetes/client-node";
import { validateExpect, validateKey, validateValue } from "./keyrange.js";
import { collectionFor, parsePodKey, podKeyOf, podPath } from "./kubernetes-keys.js";
import { ResourceVersions } from "./kubernetes-rv.js";
import { type AnnotationPatch, type MergeResult, PodNotFoundError } from "./merge.js";
import {
  CompactedError,
  type KeyValue,
  type Lease,
  type ListResult,
  type PutOptions,
  type Store,
  StoreUnavailableError,
  type Watch,
  type WatchEvent,
  type WatchHandlers,
  type WriteResult,
} from "./store.js";

type Json = Record<string, unknown>;
interface Pod extends Json {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    annotations?: Record<string, string>;
  };
}
interface Reply {
  status: number;
  body: Json;
}

export interface KubernetesOptions {
  /** Per-request timeout (ms). Default 5000. */
  callTimeoutMs?: number;
  /** Pods per list page. Default 500. */
  pageSize?: number;
}

export class KubernetesStore implements Store {
  readonly description: string;
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly callTimeoutMs: number;
  private readonly pageSize: number;
  private readonly watches = new Set<() => void>();
  private readonly rvs = new ResourceVersions();

  constructor(
    private readonly kc: KubeConfig,
    opts: KubernetesOptions = {},
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubernetes store: the kubeconfig has no current cluster");
    this.description = `kubernetes ${cluster.server}`;
    this.callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.pageSize = opts.pageSize ?? 500;
  }

  /** "kubernetes:" or "kubernetes:?kubeconfig=FILE&context=NAME&timeout=MS". */
  static fromUrl(url: string): KubernetesStore {
    const params = new URLSearchParams(url.slice(url.indexOf("?") + 1 || url.length));
    for (const k of params.keys()) {
      if (!["kubeconfig", "context", "timeout"].includes(k)) {
        throw new Error(`store URL ${JSON.stringify(url)}: unknown parameter "${k}"`);
      }
    }
    const kc = new KubeConfig();
    const file = params.get("kubeconfig");
    try {
      if (file) kc.loadFromFile(file);
      else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
      else kc.loadFromDefault();
      const ctx = params.get("context");
      if (ctx) kc.setCurrentContext(ctx);
    } catch (err) {
      throw new Error(`store URL ${JSON.stringify(url)}: ${(err as Error).message}`);
    }
    const timeout = params.get("timeout");
    return new KubernetesStore(kc, { callTimeoutMs: timeout ? Number(timeout) : undefined });
  }

  async get(key: string): Promise<KeyValue | null> {
    validateKey(key, "get");
    const r = await this.request(HttpMethod.GET, podPath(parsePodKey(key)));
    if (r.status === 404) return null;
    this.expectOk(r, `get ${key}`);
    return this.toKv(r.body as Pod);
  }

  async list(prefix: string): Promise<ListResult> {
    if (typeof prefix !== "string") throw new TypeError("list: prefix must be a string");
    const path = collectionFor(prefix);
    // A continue token expires with compaction (410): list again from the start.
    for (let attempt = 1; ; attempt++) {
      const res = await this.listOnce(path, prefix);
      if (res !== "expired") return res;
      if (attempt === 3) {
        throw new StoreUnavailableError(
          `${this.description}: list ${prefix}: continue token expired three times`,
        );
      }
    }
  }

  private async listOnce(path: string, prefix: string): Promise<ListResult | "expired"> {
    const pods: Pod[] = [];
    let listRv: string | undefined;
    let cont = "";
    do {
      const q = new URLSearchParams({ limit: String(this.pageSize) });
      if (cont) q.set("continue", cont);
      const r = await this.request(HttpMethod.GET, `${path}?${q}`);
      if (r.status === 410 && cont) return "expired";
      this.expectOk(r, `list ${prefix}`);
      const meta = r.body.metadata as { resourceVersion?: string; continue?: string };
      // Continue tokens serve later pages from the first page's snapshot.
      listRv ??= meta.resourceVersion;
      pods.push(...((r.body.items as Pod[]) ?? []));
      cont = meta.continue ?? "";
    } while (cont);
    const kvs = pods.map((p) => this.toKv(p)).filter((kv) => kv.key.startsWith(prefix));
    const revision = this.rvs.current(listRv, `list ${prefix}`);
    kvs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { kvs, revision };
  }

  /** Writes only metadata.annotations of an existing pod (see the file comment). */
  async put(key: string, value: string, opts: PutOptions = {}): Promise<WriteResult> {
    validateKey(key, "put");
    validateValue(value, `put ${key}`);
    const expect = validateExpect(opts.expectModRevision, `put ${key}`);
    if (opts.lease !== undefined) throw new Error("kubernetes store: leases are not supported");
    const ref = parsePodKey(key);
    const wanted = annotationsOf(value, key);
    const cur = await this.get(key);
    if (!cur) {
      if (expect !== undefined && expect !== 0)
        return { ok: false, revision: await this.revision() };
      throw new Error(
        `kubernetes store: put ${key}: pod not found (this store cannot create pods)`,
      );
    }
    if (expect !== undefined && cur.modRevision !== expect) {
      return { ok: false, revision: cur.modRevision, current: cur };
    }
    // Merge patch: new and changed annotations, null for removed ones.
    const patch: Record<string, string | null> = { ...wanted };
    for (const k of Object.keys((JSON.parse(cur.value) as Pod).metadata?.annotations ?? {})) {
      if (!(k in wanted)) patch[k] = null;
    }
    const metadata: Json = { annotations: patch };
    if (expect !== undefined) {
      const rv = this.rvs.rvOf(expect);
      if (rv === undefined) return { ok: false, revision: cur.modRevision, current: cur };
      metadata.resourceVersion = rv;
    }
    const r = await this.request(HttpMethod.PATCH, podPath(ref), { metadata });
    if (r.status === 409 || r.status === 404) {
      const now = await this.get(key);
      return {
        ok: false,
        revision: now?.modRevision ?? (await this.revision()),
        current: now ?? undefined,
      };
    }
    this.expectOk(r, `put ${key}`);
    return {
      ok: true,
      revision: this.rvs.revisionOf((r.body as Pod).metadata?.resourceVersion, `put ${key}`),
    };
  }

  /** One JSON merge patch: atomic in the apiserver, no read-modify-write needed. */
  async mergePodAnnotations(key: string, patch: AnnotationPatch): Promise<MergeResult> {
    validateKey(key, "merge");
    const r = await this.request(HttpMethod.PATCH, podPath(parsePodKey(key)), {
      metadata: { annotations: patch },
    });
    if (r.status === 404) throw new PodNotFoundError(key);
    this.expectOk(r, `merge into ${key}`);
    const revision = this.rvs.revisionOf(
      (r.body as Pod).metadata?.resourceVersion,
      `merge into ${key}`,
    );
    return { revision, retries: 0, changed: true };
  }

  async delete(key: string, opts: { expectModRevision?: number } = {}): Promise<WriteResult> {
    validateKey(key, "delete");
    const expect = validateExpect(opts.expectModRevision, `delete ${key}`);
    const rv = expect === undefined || expect === 0 ? undefined : this.rvs.rvOf(expect);
    if (expect !== undefined && rv === undefined) {
      // 0 (create-only) or a revision this adapter never issued: no pod has it.
      const now = await this.get(key);
      if (now === null) return { ok: expect === 0, revision: await this.revision() };
      return { ok: false, revision: now.modRevision, current: now };
    }
    const body = rv === undefined ? undefined : { preconditions: { resourceVersion: rv } };
    const r = await this.request(HttpMethod.DELETE, podPath(parsePodKey(key)), body);
    if (r.status === 404) {
      return { ok: expect === undefined || expect === 0, revision: await this.revision() };
    }
    if (r.status === 409) {
      const now = await this.get(key);
      return { ok: false, revision: now?.modRevision ?? 0, current: now ?? undefined };
    }
    this.expectOk(r, `delete ${key}`);
    return { ok: true, revision: await this.revision() };
  }

  grantLease(_ttlSeconds: number): Promise<Lease> {
    return Promise.reject(new Error("kubernetes store: leases are not supported"));
  }

  /**
   * The apiserver's resourceVersion now, from a list of one pod: of the
   * prefix's namespace when it names one (a client with a namespaced Role
   * may not list every pod), else of all pods. Either is the whole store's.
   */
  async revision(prefix?: string): Promise<number> {
    const path = prefix === undefined ? "/api/v1/pods" : collectionFor(prefix);
    return this.rvs.current(await this.currentRv(path), "revision");
  }

  /** The collection's resourceVersion now (a list of one item). */
  private async currentRv(path: string): Promise<string | undefined> {
    const r = await this.request(HttpMethod.GET, `${path}?limit=1`);
    this.expectOk(r, "revision");
    return (r.body.metadata as Json)?.resourceVersion as string | undefined;
  }

  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    const path = collectionFor(prefix);
    let startRv: string | undefined;
    let floor: number;
    if (fromRevision > 0) {
      startRv = this.rvs.watchStart(fromRevision);
      floor = fromRevision - 1;
      if (startRv === undefined) {
        // Never issued or forgotten: like a compacted etcd revision, the caller re-lists.
        const err = new CompactedError(this.rvs.newest() + 1);
        queueMicrotask(() => handlers.onError(err));
        return { close: async () => {} };
      }
    } else {
      startRv = await this.currentRv(path);
      floor = this.rvs.current(startRv, `watch ${prefix}`);
    }
    const w = new PodWatch({
      kc: this.kc,
      path,
      prefix,
      startRv: startRv as string,
      floor,
      handlers,
      description: this.description,
      timeoutMs: this.callTimeoutMs,
      toKv: (pod, revision) => this.toKv(pod, revision),
      rvs: this.rvs,
    });
    this.watches.add(w.stop);
    await w.start();
    return {
      close: async () => {
        this.watches.delete(w.stop);
        w.stop();
      },
    };
  }

  /** A pod as a KeyValue, at `revision` or the one standing for its resourceVersion. */
  private toKv(pod: Pod, revision?: number): KeyValue {
    const full: Pod = { apiVersion: "v1", kind: "Pod", ...pod };
    const rev =
      revision ?? this.rvs.revisionOf(pod.metadata?.resourceVersion, `pod ${pod.metadata?.name}`);
    return {
      key: podKeyOf(pod),
      value: JSON.stringify(full),
      createRevision: rev,
      modRevision: rev,
      version: pod.metadata?.generation ?? 1,
    };
  }

  async close(): Promise<void> {
    for (const stop of this.watches) stop();
    this.watches.clear();
  }

  private async request(method: HttpMethod, path: string, body?: unknown): Promise<Reply> {
    const cluster = this.kc.getCurrentCluster()!;
    const ctx = new RequestContext(cluster.server.replace(/\/+$/, "") + path, method);
    ctx.setHeaderParam("Accept", "application/json");
    if (body !== undefined) {
      ctx.setHeaderParam(
        "Content-Type",
        method === HttpMethod.PATCH ? "application/merge-patch+json" : "application/json",
      );
      ctx.setBody(JSON.stringify(body));
    }
    ctx.setSignal(AbortSignal.timeout(this.callTimeoutMs));
    try {
      await this.kc.applySecurityAuthentication(ctx);
      const res = await this.http.send(ctx).toPromise();
      const text = await res.body.text();
      if (res.httpStatusCode >= 500) {
        throw new StoreUnavailableError(
          `${this.description}: ${method} ${path}: HTTP ${res.httpStatusCode}: ${text.slice(0, 200)}`,
        );
      }
      return { status: res.httpStatusCode, body: parseJson(text, `${method} ${path}`) };
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      if (err instanceof SyntaxError) throw err;
      throw new StoreUnavailableError(
        `${this.description}: ${method} ${path}: unavailable: ${(err as Error).message}`,
      );
    }
  }

  private expectOk(r: Reply, what: string): void {
    if (r.status >= 200 && r.status < 300) return;
    const msg = typeof r.body.message === "string" ? r.body.message : JSON.stringify(r.body);
    throw new Error(`${this.description}: ${what}: HTTP ${r.status}: ${msg}`);
  }
}

/**
 * A pod watch. Kubernetes ends watches routinely (server-side timeouts), so
 * a stream that ends is reopened from the last resourceVersion seen (no event
 * lost); when reopening fails the watch ends through onError.
 */
interface PodWatchOptions {
  kc: KubeConfig;
  path: string;
  prefix: string;
  /** Watch after this resourceVersion. */
  startRv: string;
  /** Revisions delivered rise above this (the revision the caller has seen). */
  floor: number;
  handlers: WatchHandlers;
  description: string;
  timeoutMs: number;
  toKv: (pod: Pod, revision: number) => KeyValue;
  rvs: ResourceVersions;
}

class PodWatch {
  /** Where a reopened stream resumes: the last event's or bookmark's resourceVersion. */
  private lastRv: string;
  private floor: number;
  private abort: AbortController | null = null;
  private stopped = false;
  private readonly path: string;
  private readonly prefix: string;
  private readonly handlers: WatchHandlers;
  private readonly description: string;

  constructor(private readonly o: PodWatchOptions) {
    this.lastRv = o.startRv;
    this.floor = o.floor;
    this.path = o.path;
    this.prefix = o.prefix;
    this.handlers = o.handlers;
    this.description = o.description;
  }

  readonly stop = (): void => {
    this.stopped = true;
    this.abort?.abort();
  };

  /** Resolves once the apiserver accepted the watch; rejects when it cannot be reached. */
  async start(): Promise<void> {
    let failed: Error | null = null;
    let connected = false;
    let timedOut = false;
    const opening = new KubeWatch(this.o.kc).watch(
      this.path,
      { resourceVersion: this.lastRv, allowWatchBookmarks: true },
      (type, obj) => this.onEvent(type, obj as Pod),
      (err) => {
        if (!connected) failed = this.toError(err);
        else this.onDone(err);
      },
    );
    // The client has no connect timeout: an apiserver that never answers must not hang us.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new StoreUnavailableError(`${this.description}: watch ${this.prefix}: no answer`));
      }, this.o.timeoutMs);
    });
    opening.then((ctl) => timedOut && ctl.abort()).catch(() => {});
    try {
      this.abort = await Promise.race([opening, timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (failed) throw failed;
    connected = true;
  }

  private onEvent(type: string, obj: Pod): void {
    if (this.stopped) return;
    if (type === "ERROR") {
      const status = obj as unknown as { code?: number; message?: string };
      const err =
        status.code === 410
          ? this.compacted()
          : new Error(`${this.description}: watch ${this.prefix}: ${status.message}`);
      this.fail(err);
      return;
    }
    const rv = obj.metadata?.resourceVersion;
    if (typeof rv === "string" && rv !== "") this.lastRv = rv;
    // A bookmark only moves the resume point (fewer replays, no 410 after a quiet spell).
    if (type === "BOOKMARK") return;
    let ev: WatchEvent;
    let revision: number;
    try {
      revision = this.o.rvs.revisionAbove(rv, this.floor, `watch ${this.prefix}`);
      const kv = this.o.toKv(obj, revision);
      if (!kv.key.startsWith(this.prefix)) return;
      ev =
        type === "DELETED"
          ? { type: "delete", key: kv.key, modRevision: revision, prev: kv }
          : { type: "put", kv };
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.floor = revision;
    try {
      this.handlers.onEvents([ev], revision);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** 410 Gone: the resume point is too old; everything known may be gone. */
  private compacted(): CompactedError {
    return new CompactedError(this.o.rvs.newest() + 1);
  }

  /**
   * The stream ended (server-side timeout, apiserver restart, a proxy cutting
   * long requests): reconnect once from the last resourceVersion seen. If
   * that fails, the watch ends with the reconnect's error.
   */
  private onDone(err: unknown): void {
    if (this.stopped) return;
    const code = (err as { statusCode?: number } | null)?.statusCode;
    if (code !== undefined && code < 500) {
      this.fail(this.toError(err));
      return;
    }
    this.start().catch((e: Error) => this.fail(e));
  }

  private toError(err: unknown): Error {
    const code = (err as { statusCode?: number }).statusCode;
    if (code === 410) return this.compacted();
    const msg = err instanceof Error ? err.message : String(err);
    if (code !== undefined && code < 500) {
      return new Error(`${this.description}: watch ${this.prefix}: HTTP ${code}: ${msg}`);
    }
    return new StoreUnavailableError(`${this.description}: watch ${this.prefix}: ${msg}`);
  }

  private fail(err: Error): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.onError(err);
  }
}

function annotationsOf(value: string, key: string): Record<string, string> {
  let pod: Pod;
  try {
    pod = JSON.parse(value) as Pod;
  } catch (err) {
    throw new Error(`kubernetes store: put ${key}: value is not JSON: ${(err as Error).message}`);
  }
  const ann = pod?.metadata?.annotations ?? {};
  if (typeof ann !== "object" || Array.isArray(ann)) {
    throw new Error(`kubernetes store: put ${key}: metadata.annotations must be an object`);
  }
  for (const [k, v] of Object.entries(ann)) {
    if (typeof v !== "string") {
      throw new Error(
        `kubernetes store: put ${key}: annotation ${JSON.stringify(k)} must be a string`,
      );
    }
  }
  return ann;
}

function parseJson(text: string, what: string): Json {
  if (text === "") return {};
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new SyntaxError(`kubernetes store: ${what}: response is not JSON: ${text.slice(0, 200)}`);
  }
}
