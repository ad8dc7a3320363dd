// Merge annotations into a stored Kubernetes Pod object without ever losing
// an update: read the pod, merge into metadata.annotations, write back with
// compare-and-swap on the mod revision read, retry on conflict. Two writers
// merging different keys at once both end up in the pod.
//
// Stores that can merge natively and atomically (the Kubernetes adapter
// sends one JSON merge patch) implement `NativeAnnotationMerge` and are used
// directly.

import { type BackoffPolicy, backoffDelay } from "../retry/backoff.js";
import type { Store } from "./store.js";

/** annotation -> new value; null removes the annotation (JSON merge patch semantics). */
export type AnnotationPatch = Record<string, string | null>;

export interface MergeResult {
  /** Store revision that holds the merged pod. */
  revision: number;
  /** Compare-and-swap conflicts retried before success (a metric for the server). */
  retries: number;
  /**
   * false when every annotation already had the requested value (nothing
   * written). Concurrent merges into one pod share one write and one result.
   */
  changed: boolean;
}

export interface MergeOptions {
  /** Give up after this many conflicts (MergeConflictError). Default 100. */
  maxRetries?: number;
}

/** Implemented by stores that apply an annotation patch atomically themselves. */
export interface NativeAnnotationMerge {
  mergePodAnnotations(key: string, patch: AnnotationPatch): Promise<MergeResult>;
}

/** The key does not exist: no pod to annotate. */
export class PodNotFoundError extends Error {
  override name = "PodNotFoundError";
  constructor(readonly key: string) {
    super(`pod ${key} not found`);
  }
}

/** The stored value is not a JSON object, so it cannot hold annotations. */
export class InvalidPodError extends Error {
  override name = "InvalidPodError";
}

/** Too many concurrent writers: the merge gave up after maxRetries conflicts. */
export class MergeConflictError extends Error {
  override name = "MergeConflictError";
}

export function mergeAnnotations(
  store: Store,
  key: string,
  patch: AnnotationPatch,
  opts: MergeOptions = {},
): Promise<MergeResult> {
  try {
    validatePatch(patch, key);
  } catch (err) {
    return Promise.reject(err);
  }
  if (hasNativeMerge(store)) return store.mergePodAnnotations(key, patch);
  let perStore = queues.get(store);
  if (!perStore) {
    perStore = new Map();
    queues.set(store, perStore);
  }
  const queue = perStore;
  return new Promise((resolve, reject) => {
    const waiter: Waiter = { patch, maxRetries: opts.maxRetries ?? 100, resolve, reject };
    const waiting = queue.get(key);
    // A write to this pod is in flight: ride along with its next round.
    if (waiting) waiting.push(waiter);
    else {
      queue.set(key, [waiter]);
      void drain(store, key, queue);
    }
  });
}

/*
 * Group commit per pod: merges into one pod that arrive while a write to it
 * is in flight are combined (in arrival order, later values win) into the
 * next compare-and-swap. A hundred concurrent reports into one pod then cost
 * a handful of writes instead of a storm of conflicts. Each caller is
 * answered only after the write carrying its patch has committed, and other
 * processes are still handled by the CAS retry below.
 */
interface Waiter {
  patch: AnnotationPatch;
  maxRetries: number;
  resolve(r: MergeResult): void;
  reject(err: unknown): void;
}

const queues = new WeakMap<Store, Map<string, Waiter[]>>();

async function drain(store: Store, key: string, queue: Map<string, Waiter[]>): Promise<void> {
  for (;;) {
    const batch = queue.get(key) ?? [];
    if (batch.length === 0) {
      queue.delete(key);
      return;
    }
    queue.set(key, []);
    const combined: AnnotationPatch = Object.assign({}, ...batch.map((w) => w.patch));
    const maxRetries = Math.max(...batch.map((w) => w.maxRetries));
    try {
      const result = await casMerge(store, key, combined, maxRetries);
      for (const w of batch) w.resolve(result);
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}

/** Read, merge, compare-and-swap on the mod revision read; on conflict merge into the newer value. */
async function casMerge(
  store: Store,
  key: string,
  patch: AnnotationPatch,
  maxRetries: number,
): Promise<MergeResult> {
  let kv = await store.get(key);
  for (let retries = 0; ; retries++) {
    if (!kv) throw new PodNotFoundError(key);
    const pod = parsePod(kv.value, key);
    if (!applyPatch(pod, patch)) return { revision: kv.modRevision, retries, changed: false };
    const res = await store.put(key, JSON.stringify(pod), { expectModRevision: kv.modRevision });
    if (res.ok) return { revision: res.revision, retries, changed: true };
    if (retries >= maxRetries) {
      throw new MergeConflictError(
        `merge into ${key}: gave up after ${retries} compare-and-swap conflicts`,
      );
    }
    // The failed CAS returns the current value: no extra read needed.
    kv = res.current ?? null;
    await backoff(retries);
  }
}

function hasNativeMerge(store: Store): store is Store & NativeAnnotationMerge {
  return typeof (store as Partial<NativeAnnotationMerge>).mergePodAnnotations === "function";
}

function validatePatch(patch: AnnotationPatch, key: string): void {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) {
    throw new TypeError(`merge into ${key}: patch must be an object of annotation values`);
  }
  for (const [k, v] of Object.entries(patch)) {
    if (v !== null && typeof v !== "string") {
      throw new TypeError(`merge into ${key}: annotation ${JSON.stringify(k)} must be a string`);
    }
  }
}

type Json = Record<string, unknown>;

function parsePod(value: string, key: string): Json {
  let pod: unknown;
  try {
    pod = JSON.parse(value);
  } catch (err) {
    throw new InvalidPodError(`pod ${key}: stored value is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(pod)) throw new InvalidPodError(`pod ${key}: stored value is not a JSON object`);
  return pod;
}

/** Merge in place; returns whether anything changed. */
export function applyPatch(pod: Json, patch: AnnotationPatch): boolean {
  if (!isObject(pod.metadata)) pod.metadata = {};
  const meta = pod.metadata as Json;
  if (!isObject(meta.annotations)) meta.annotations = {};
  const ann = meta.annotations as Json;
  let changed = false;
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      if (k in ann) {
        delete ann[k];
        changed = true;
      }
    } else if (ann[k] !== v) {
      ann[k] = v;
      changed = true;
    }
  }
  return changed;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Full jitter so a crowd of writers on one pod spreads out instead of colliding again. */
const CAS_RETRY: BackoffPolicy = { initialMs: 1, maxMs: 20, jitter: 1 };

function backoff(attempt: number): Promise<void> {
  const ms = backoffDelay(CAS_RETRY, attempt) * Math.random();
  return new Promise((r) => setTimeout(r, ms));
}
