// Merges annotation patches into pod objects with compare-and-swap writes:
// no lost update, ever (the original did read-modify-replace without retry).
//
// Two optimisations keep this close to a raw put:
// - concurrent patches to the same pod are coalesced into one CAS write
//   (each caller is answered only after the write containing its patch
//   succeeded), so 100 agents hitting one pod do not livelock on conflicts;
// - the last value this process wrote is cached with its mod revision, so a
//   repeat write skips the read; a stale cache only costs one failed CAS,
//   which returns the current value.
// - the cached pod is kept split around its annotations object (the JSON
//   before it, the parsed annotations, the JSON after it), so a report
//   serialises only the few annotations instead of parsing and serialising
//   the whole 3-5 KB pod; the text written is exactly JSON.stringify of the
//   merged pod.
import { randomBytes } from "node:crypto";
import { type BackoffPolicy, backoffDelay } from "../../retry/backoff.js";
import { mergeAnnotations, type NativeAnnotationMerge } from "../../store/merge.js";
import { podKey, type Store, type WriteResult } from "../../store/store.js";
import { forbidden, HttpError, notFound } from "../http/errors.js";

/** Conflicting writes on one pod object: 6, 12, 24, 48 ms, then 50 ms at most. */
const CONFLICT_RETRY: BackoffPolicy = { initialMs: 6, maxMs: 50 };

/** A stored pod object: JSON = head + JSON.stringify(annotations) + tail. */
interface Cached {
  modRevision: number;
  /** metadata.uid of the object (instance tokens are checked against it at write time). */
  uid: string | undefined;
  head: string;
  annotations: Record<string, unknown>;
  tail: string;
}

interface Waiter {
  patch: Record<string, string>;
  /** Write only into the pod instance of this UID (the caller's token is bound to it). */
  uid?: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface AnnotatorOptions {
  /** Called once per failed compare-and-swap (metrics). */
  onCasRetry?: () => void;
  /** Give up (503) after this long of continuous conflicts. */
  conflictTimeoutMs?: number;
  cacheSize?: number;
}

export class PodAnnotator {
  private readonly queues = new Map<string, Waiter[]>();
  private readonly cache = new Map<string, Cached>();
  private readonly cacheSize: number;
  private readonly conflictTimeoutMs: number;
  private readonly native: boolean;

  constructor(
    private readonly store: Store,
    private readonly opts: AnnotatorOptions = {},
  ) {
    this.cacheSize = opts.cacheSize ?? 10_000;
    this.conflictTimeoutMs = opts.conflictTimeoutMs ?? 10_000;
    this.native =
      typeof (store as Partial<NativeAnnotationMerge>).mergePodAnnotations === "function";
  }

  /**
   * Merge `patch` into metadata.annotations of pod ns/name; resolves once
   * durable. With `uid`, only into that pod instance: a pod deleted and
   * re-created under the same name meanwhile is refused (403).
   */
  merge(ns: string, name: string, patch: Record<string, string>, uid?: string): Promise<void> {
    const key = podKey(ns, name);
    return new Promise((resolve, reject) => {
      const waiter = { patch, uid, resolve, reject };
      const queue = this.queues.get(key);
      if (queue) {
        queue.push(waiter);
        return;
      }
      this.queues.set(key, [waiter]);
      void this.drain(key);
    });
  }

  /** The UID of the pod object this process last wrote or read (may be stale). */
  cachedUid(ns: string, name: string): string | undefined {
    return this.cache.get(podKey(ns, name))?.uid;
  }

  /** Forget the cached object of a key (e.g. after the pod was deleted). */
  forget(key: string): void {
    this.cache.delete(key);
  }

  private async drain(key: string): Promise<void> {
    const queue = this.queues.get(key)!;
    while (queue.length > 0) {
      // one write per pod instance the callers' tokens name (normally one)
      const byUid = new Map<string | undefined, Waiter[]>();
      for (const w of queue.splice(0)) {
        const list = byUid.get(w.uid);
        if (list) list.push(w);
        else byUid.set(w.uid, [w]);
      }
      for (const [uid, batch] of byUid) {
        const merged: Record<string, string> = Object.assign({}, ...batch.map((w) => w.patch));
        try {
          await this.casMerge(key, merged, uid);
          for (const w of batch) w.resolve();
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    }
    this.queues.delete(key);
  }

  private async casMerge(
    key: string,
    patch: Record<string, string>,
    uid: string | undefined,
  ): Promise<void> {
    if (this.native) {
      // A merge patch carries no precondition here: check the instance just before.
      if (uid !== undefined) {
        const kv = await this.store.get(key);
        if (kv) sameInstance(key, split(key, kv.value, kv.modRevision), uid);
      }
      // The store applies the patch atomically itself (Kubernetes: one JSON merge patch).
      const r = await mergeAnnotations(this.store, key, patch);
      for (let i = 0; i < r.retries; i++) this.opts.onCasRetry?.();
      return;
    }
    let cur = this.cache.get(key) ?? null;
    let fromCache = cur !== null;
    if (!cur) cur = await this.read(key);
    const deadline = Date.now() + this.conflictTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (!cur) {
        this.cache.delete(key);
        throw notFound(
          `pod ${key.slice("/registry/pods/".length)} not found (no object at ${key})`,
        );
      }
      // a stale cached object fails the compare-and-swap below and is re-read
      if (!fromCache && uid !== undefined) sameInstance(key, cur, uid);
      const annotations = patched(cur.annotations, patch);
      if (annotations === null) {
        // Nothing to change, but only trust that on a fresh read.
        if (!fromCache) return;
        cur = await this.read(key);
        fromCache = false;
        continue;
      }
      const next = cur.head + JSON.stringify(annotations) + cur.tail;
      let r: WriteResult;
      try {
        r = await this.store.put(key, next, { expectModRevision: cur.modRevision });
      } catch (err) {
        // The write may or may not have landed: the next merge reads afresh.
        this.cache.delete(key);
        throw err;
      }
      if (r.ok) {
        this.remember(key, { ...cur, modRevision: r.revision, annotations });
        return;
      }
      this.opts.onCasRetry?.();
      cur = r.current ? split(key, r.current.value, r.current.modRevision) : null;
      fromCache = false;
      if (Date.now() > deadline) {
        this.cache.delete(key);
        throw new HttpError(
          503,
          `pod object ${key} kept changing: gave up after ${attempt + 1} conflicting writes`,
        );
      }
      // from the fourth conflict on, spread the writers out (full jitter)
      if (attempt >= 3) await sleep(backoffDelay(CONFLICT_RETRY, attempt - 3) * Math.random());
    }
  }

  private async read(key: string): Promise<Cached | null> {
    const kv = await this.store.get(key);
    return kv ? split(key, kv.value, kv.modRevision) : null;
  }

  private remember(key: string, c: Cached): void {
    this.cache.delete(key);
    this.cache.set(key, c);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}

/** 403 unless the stored object is the pod instance of `uid`. */
function sameInstance(key: string, cur: Cached, uid: string): void {
  if (cur.uid !== uid) {
    throw forbidden(
      `pod ${key.slice("/registry/pods/".length)} is another instance now (uid ${cur.uid ?? "none"}): the credential belongs to the pod of uid ${uid}, which was deleted`,
    );
  }
}

/** `annotations` with `patch` applied (a new object, same key order), or null if nothing changes. */
function patched(
  annotations: Record<string, unknown>,
  patch: Record<string, string>,
): Record<string, unknown> | null {
  for (const k in patch) {
    if (annotations[k] !== patch[k]) return { ...annotations, ...patch };
  }
  return null;
}

/** Marks where the annotations object goes when splitting a pod's JSON. */
const HOLE = `\u0000domeos-annotations-${randomBytes(12).toString("hex")}\u0000`;
const HOLE_JSON = JSON.stringify(HOLE);

/**
 * A stored pod parsed for a merge, with metadata.annotations created empty
 * when missing (as a merge would). Anything but a JSON object is refused:
 * overwriting it would lose data.
 */
function parsePod(
  key: string,
  podJson: string,
): { pod: Record<string, unknown>; meta: Record<string, unknown> } {
  let pod: unknown;
  try {
    pod = JSON.parse(podJson);
  } catch {
    throw new HttpError(500, `pod object at ${key} is not valid JSON; refusing to overwrite it`);
  }
  if (!isObject(pod)) throw new HttpError(500, `pod object at ${key} is not a JSON object`);
  if (!isObject(pod.metadata)) pod.metadata = {};
  const meta = pod.metadata as Record<string, unknown>;
  if (!isObject(meta.annotations)) meta.annotations = {};
  return { pod, meta };
}

/**
 * Parse a stored pod and split its JSON around metadata.annotations (created
 * empty when missing, as a merge would): head + JSON.stringify(annotations)
 * + tail is then exactly JSON.stringify of the pod with those annotations.
 */
function split(key: string, podJson: string, modRevision: number): Cached {
  const { pod, meta } = parsePod(key, podJson);
  const annotations = meta.annotations as Record<string, unknown>;
  meta.annotations = HOLE;
  const text = JSON.stringify(pod);
  const at = text.indexOf(HOLE_JSON);
  // The marker is random; a pod that contains it anyway would split wrongly: refuse.
  if (at < 0 || text.indexOf(HOLE_JSON, at + 1) >= 0) {
    throw new HttpError(500, `pod object at ${key} contains the server's split marker`);
  }
  return {
    modRevision,
    uid: typeof meta.uid === "string" ? meta.uid : undefined,
    head: text.slice(0, at),
    annotations,
    tail: text.slice(at + HOLE_JSON.length),
  };
}

/** The pod JSON with `patch` merged into metadata.annotations, or null if nothing changes. */
export function applyPatch(
  key: string,
  podJson: string,
  patch: Record<string, string>,
): string | null {
  const { pod, meta } = parsePod(key, podJson);
  const ann = meta.annotations as Record<string, unknown>;
  let changed = false;
  for (const [k, v] of Object.entries(patch)) {
    if (ann[k] !== v) {
      ann[k] = v;
      changed = true;
    }
  }
  return changed ? JSON.stringify(pod) : null;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
