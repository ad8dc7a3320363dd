// A backend whose implementation module is loaded only when it starts. The
// Kubernetes client (and etcd's gRPC stack) take hundreds of milliseconds of
// CPU to import; a domeos-confd on another backend, or a -onetime run that
// does not need them, should not pay for that.

import type { EtcdClient } from "../../store/etcd/client.js";
import type { Backend, BackendStatus, ChangeListener, KVView } from "./backend.js";
import { MapView } from "./backend.js";

export class LazyBackend implements Backend {
  private inner: Backend | null = null;
  private readonly listeners: ChangeListener[] = [];
  private closed = false;
  private readonly empty = new MapView(new Map());

  constructor(
    readonly name: string,
    private readonly load: () => Promise<Backend>,
  ) {}

  /** The start in progress or done, by prefixes: starting again with the same ones joins it. */
  private started: { key: string; promise: Promise<void> } | null = null;

  /**
   * Loads the implementation and starts it. A second call with the same
   * prefixes returns the first call's promise: -onetime starts reading
   * before the template engine has loaded, and the manager's start joins it.
   */
  start(prefixes: string[]): Promise<void> {
    const key = prefixes.join("\0");
    if (this.started?.key === key) return this.started.promise;
    const promise = this.startInner(prefixes);
    this.started = { key, promise };
    return promise;
  }

  private async startInner(prefixes: string[]): Promise<void> {
    const inner = await this.load();
    if (this.closed) {
      await inner.close();
      throw new Error(`${this.name}: closed before start`);
    }
    this.inner = inner;
    for (const l of this.listeners) inner.onChange(l);
    await inner.start(prefixes);
  }

  view(): KVView {
    return this.inner?.view() ?? this.empty;
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
    this.inner?.onChange(listener);
  }

  status(): BackendStatus {
    return this.inner?.status() ?? { connected: false };
  }

  etcdClient(): EtcdClient | undefined {
    return this.inner?.etcdClient?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.inner?.close();
  }
}
