// One Store made of two: keys under `prefix` go to `inner` (the Kubernetes
// API adapter, which holds only pods), every other key to `rest` (etcd or
// embedded, for the port ledger and anything else). Revisions of the two
// stores are separate counters, which is fine for compare-and-swap (each key
// compares against its own store) but means a single list or watch must stay
// on one side: a prefix that spans both is refused.
//
// URL: kubernetes:?others=<store URL>, e.g. kubernetes:?others=embedded:/var/lib/domeos

import { type AnnotationPatch, type MergeResult, mergeAnnotations } from "./merge.js";
import type {
  KeyValue,
  Lease,
  ListResult,
  PutOptions,
  Store,
  Watch,
  WatchHandlers,
  WriteResult,
} from "./store.js";

export class PrefixRoutedStore implements Store {
  readonly description: string;

  constructor(
    private readonly prefix: string,
    private readonly inner: Store,
    private readonly rest: Store,
  ) {
    this.description = `${inner.description} (${prefix}*), ${rest.description} (other keys)`;
  }

  /** Both stores (the server's etcd client metrics look inside). */
  get parts(): readonly Store[] {
    return [this.inner, this.rest];
  }

  /** The store that owns `key`. */
  private forKey(key: string): Store {
    return typeof key === "string" && key.startsWith(this.prefix) ? this.inner : this.rest;
  }

  /** The store that owns every key starting with `p`; a prefix spanning both is an error. */
  private forPrefix(p: string): Store {
    if (p.startsWith(this.prefix)) return this.inner;
    if (this.prefix.startsWith(p)) {
      throw new Error(
        `store ${this.description}: prefix ${JSON.stringify(p)} spans both stores; ` +
          `list or watch under ${JSON.stringify(this.prefix)} and other prefixes separately`,
      );
    }
    return this.rest;
  }

  get(key: string): Promise<KeyValue | null> {
    return this.forKey(key).get(key);
  }

  async list(prefix: string): Promise<ListResult> {
    return this.forPrefix(prefix).list(prefix);
  }

  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    return this.forPrefix(prefix).watch(prefix, fromRevision, handlers);
  }

  put(key: string, value: string, opts?: PutOptions): Promise<WriteResult> {
    return this.forKey(key).put(key, value, opts);
  }

  delete(key: string, opts?: { expectModRevision?: number }): Promise<WriteResult> {
    return this.forKey(key).delete(key, opts);
  }

  /** Pods take the inner store's native merge when it has one; other keys the CAS merge. */
  mergePodAnnotations(key: string, patch: AnnotationPatch): Promise<MergeResult> {
    return mergeAnnotations(this.forKey(key), key, patch);
  }

  /** Leases live in `rest` (the Kubernetes adapter has none). */
  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.rest.grantLease(ttlSeconds);
  }

  /**
   * With a prefix, the revision of the store holding it (its watches count in
   * that store's revisions: the Kubernetes adapter's are its own numbering).
   * Without, a health probe: both must answer; the revision reported is `rest`'s.
   */
  async revision(prefix?: string): Promise<number> {
    if (prefix !== undefined) return this.forPrefix(prefix).revision(prefix);
    const [, r] = await Promise.all([this.inner.revision(), this.rest.revision()]);
    return r;
  }

  async close(): Promise<void> {
    await Promise.all([this.inner.close(), this.rest.close()]);
  }
}
