// The one interface every confd data source implements (confd's model:
// several backends behind one interface). A backend keeps a complete,
// consistent in-memory view of the keys under the prefixes it was started
// with; the resource processor renders only from that view and is told which
// keys changed, so a pod change never means re-reading every key.

import { compareBytes } from "../../gotemplate/value.js";
import type { EtcdClient } from "../../store/etcd/client.js";
import type { SnapshotGuardOptions } from "./snapshot-guard.js";

/** A read-only view of the current key space. Keys are absolute ("/registry/pods/default/p1"). */
export interface KVView {
  get(key: string): string | undefined;
  keys(): Iterable<string>;
  /** Keys starting with `prefix`, sorted byte-wise. */
  prefixed(prefix: string): string[];
}

export interface BackendStatus {
  /** True while the backend's view is known to be current (watch connected). */
  connected: boolean;
  /** Store revision the view reflects, when the backend has one. */
  revision?: number;
  lastError?: string;
  /** Epoch ms since which `connected` has had its current value. */
  since?: number;
  /** A suspicious snapshot held for a confirming re-read (the view keeps its last content). */
  held?: { reason: string; since: number; keys: number };
  /** Suspicious snapshots held since start. */
  holds?: number;
}

/** Listener for changes. `changedKeys === null` means "everything may have changed" (after a re-list). */
export type ChangeListener = (changedKeys: string[] | null) => void;

export interface Backend {
  readonly name: string;
  /** Load a complete, consistent snapshot covering these prefixes; resolves only when complete. */
  start(prefixes: string[]): Promise<void>;
  view(): KVView;
  /** Called after every applied change batch with the changed keys; after a re-list with null. */
  onChange(listener: ChangeListener): void;
  status(): BackendStatus;
  close(): Promise<void>;
  /** The etcd client behind the backend, if any: its endpoint health on /metrics. */
  etcdClient?(): EtcdClient | undefined;
}

/** Options every backend factory receives (parsed from flags and the config file). */
export interface BackendOptions {
  backend: string;
  nodes: string[];
  clientCert?: string;
  clientKey?: string;
  clientCaKeys?: string;
  /** -client-insecure: do not verify the backend's TLS certificate. */
  clientInsecure?: boolean;
  /** -scheme: for -node values given as host:port (confd's default "http"). */
  scheme?: "http" | "https";
  basicAuth?: boolean;
  username?: string;
  password?: string;
  /** `file` backend: YAML/JSON files (repeatable -file). */
  files?: string[];
  /** `file` backend: glob filter for files in directories. */
  filter?: string;
  /** Whether the backend should keep following changes (watch/interval) or just load once. */
  watch?: boolean;
  /** Which full snapshots are held for a confirming re-read (mirroring backends). */
  snapshotGuard?: SnapshotGuardOptions;
  /** Logger shared with the rest of confd. */
  log?: (level: "debug" | "info" | "warning" | "error", msg: string) => void;
}

/** Keys with a prefix, sorted byte-wise (Go string order, as etcd sorts). */
export function sortedPrefixed(keys: Iterable<string>, prefix: string): string[] {
  const out: string[] = [];
  for (const k of keys) if (k.startsWith(prefix)) out.push(k);
  return out.sort(compareBytes);
}

/** A KVView over a Map (used by the file and env backends and by tests). */
export class MapView implements KVView {
  constructor(readonly map: Map<string, string>) {}
  get(key: string): string | undefined {
    return this.map.get(key);
  }
  keys(): Iterable<string> {
    return this.map.keys();
  }
  prefixed(prefix: string): string[] {
    return sortedPrefixed(this.map.keys(), prefix);
  }
}
