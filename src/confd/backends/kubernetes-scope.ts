// confd's resource keys are path prefixes (exact-prefix.ts): the key
// /registry/pods/shop means the pods of namespace "shop", never those of
// "shop2". The Kubernetes store adapter reads string prefixes, so it must
// list every pod of the cluster for /registry/pods/shop, which a load
// balancer whose Role grants one namespace may not do (and need not: it
// reads all pods to keep a few). No key is ever /registry/pods/<ns> itself,
// so the path prefix is the string prefix with a "/": asked that way, the
// adapter reads the namespace's collection only. The revision probes go to
// that namespace too when all the keys are in one.
import type {
  KeyValue,
  Lease,
  ListResult,
  PutOptions,
  Store,
  Watch,
  WatchHandlers,
  WriteResult,
} from "../../store/store.js";

const NAMESPACE_KEY = /^\/registry\/pods\/([^/]+)$/;

export class NamespaceScopedPods implements Store {
  private readonly namespaces = new Set<string>();

  constructor(private readonly inner: Store) {}

  get description(): string {
    return this.inner.description;
  }

  /** `/registry/pods/<ns>` as the directory it stands for; other prefixes as they are. */
  private scoped(prefix: string): string {
    const m = NAMESPACE_KEY.exec(prefix);
    if (!m) return prefix;
    this.namespaces.add(m[1]!);
    return `${prefix}/`;
  }

  get(key: string): Promise<KeyValue | null> {
    return this.inner.get(key);
  }

  list(prefix: string): Promise<ListResult> {
    return this.inner.list(this.scoped(prefix));
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    return this.inner.watch(this.scoped(prefix), fromRevision, handlers);
  }

  /** In the one namespace read, when there is one (else the whole cluster's pods). */
  revision(prefix?: string): Promise<number> {
    if (prefix !== undefined) return this.inner.revision(this.scoped(prefix));
    const [only] = this.namespaces;
    return this.inner.revision(this.namespaces.size === 1 ? `/registry/pods/${only}/` : undefined);
  }

  put(key: string, value: string, opts?: PutOptions): Promise<WriteResult> {
    return this.inner.put(key, value, opts);
  }

  delete(key: string, opts?: { expectModRevision?: number }): Promise<WriteResult> {
    return this.inner.delete(key, opts);
  }

  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.inner.grantLease(ttlSeconds);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
