// The key space one resource's template sees, as confd presents it: only the
// keys selected by the resource's `keys` (exact key or below it, never a
// sibling like /registry/pods/default2), with the resource prefix stripped and
// the path cleaned (`path.Join("/", TrimPrefix(k, prefix))`).
//
// Unlike confd, which purges and rebuilds this map from a full backend read on
// every render, the key space is updated incrementally from the backend's
// changed keys, and keeps a sorted key array so `gets` needs no sort.

import { join } from "../../golib/path.js";
import { searchStrings } from "../../golib/sort.js";
import { compareBytes } from "../../gotemplate/value.js";
import type { KVView } from "../backends/backend.js";

/** One visible entry; `raw` is the backend key it came from (for error messages). */
export interface KeyEntry {
  value: string;
  raw: string;
}

/** A backend key left out of the view (a bad pod), until its value changes. */
export interface ExcludedKey {
  raw: string;
  /** The value left out: the same value stays out, a new one is tried again. */
  value: string;
  reason: string;
  /** Epoch ms. */
  since: number;
}

export class KeySpace {
  private readonly entries = new Map<string, KeyEntry>();
  private sorted: string[] | null = [];
  /** Bumped on every change; lets function caches know the data moved. */
  version = 0;
  /** Visible keys changed since `logBase` (for incremental function caches); null after a rebuild. */
  private logKeys: string[] = [];
  /** Version after each logged change (non-decreasing). */
  private logVersions: number[] = [];
  /** Changes after this version are all in the log. */
  private logBase = 0;
  /** Backend keys left out of the view (bad pods), by raw key. */
  private readonly excluded = new Map<string, ExcludedKey>();

  /**
   * @param selectors backend keys (already joined with the prefix), e.g. ["/registry/pods/default"]
   * @param prefix    the resource prefix ("/" when empty), stripped from keys
   */
  /** Each selector as a directory prefix (with its trailing "/"). */
  private readonly dirPrefixes: readonly string[];

  constructor(
    readonly selectors: readonly string[],
    readonly prefix: string,
  ) {
    this.dirPrefixes = selectors.map((sel) => (sel.endsWith("/") ? sel : `${sel}/`));
  }

  /** Does this backend key belong to the resource? (exact key or below it) */
  selects(rawKey: string): boolean {
    for (let i = 0; i < this.selectors.length; i++) {
      if (rawKey === this.selectors[i] || rawKey.startsWith(this.dirPrefixes[i])) return true;
    }
    return false;
  }

  /** Template-visible key of a backend key. */
  visibleKey(rawKey: string): string {
    const rest = rawKey.startsWith(this.prefix) ? rawKey.slice(this.prefix.length) : rawKey;
    // Most keys are already clean: path.Join would only prepend the "/".
    if (rest !== "" && !UNCLEAN.test(rest)) return rest.startsWith("/") ? rest : `/${rest}`;
    return join("/", rest);
  }

  private readonly evictListeners: ((oldValue: string) => void)[] = [];
  private readonly rebuildListeners: ((values: () => Set<string>) => void)[] = [];

  /**
   * Tell caches keyed by value text when a value is replaced or deleted, and
   * after a rebuild (`values()` builds the set of current values: hashing
   * 40 MB of pods is paid only by a cache that has something to drop).
   */
  onEvict(evicted: (oldValue: string) => void, rebuilt: (values: () => Set<string>) => void): void {
    this.evictListeners.push(evicted);
    this.rebuildListeners.push(rebuilt);
  }

  private evict(old: KeyEntry | undefined, next?: string): void {
    if (old && old.value !== next) for (const l of this.evictListeners) l(old.value);
  }

  /** Rebuild from the whole view (start, or after a re-list). */
  rebuild(view: KVView): void {
    this.entries.clear();
    const stillExcluded = new Set<string>();
    for (const sel of this.selectors) {
      for (const raw of view.prefixed(sel)) {
        if (!this.selects(raw)) continue;
        const value = view.get(raw);
        if (value === undefined) continue;
        if (this.excluded.get(raw)?.value === value) {
          stillExcluded.add(raw);
          continue;
        }
        this.entries.set(this.visibleKey(raw), { value, raw });
      }
    }
    for (const raw of this.excluded.keys()) if (!stillExcluded.has(raw)) this.excluded.delete(raw);
    this.sorted = sortedOrNull([...this.entries.keys()]);
    this.version++;
    this.logKeys = [];
    this.logVersions = [];
    this.logBase = this.version;
    let values: Set<string> | undefined;
    const current = (): Set<string> => {
      if (!values) {
        values = new Set<string>();
        for (const e of this.entries.values()) values.add(e.value);
      }
      return values;
    };
    for (const l of this.rebuildListeners) l(current);
  }

  /** Apply changed backend keys; returns true when a selected key changed. */
  update(view: KVView, changedKeys: readonly string[]): boolean {
    let touched = false;
    for (const raw of changedKeys) {
      if (!this.selects(raw)) continue;
      const value = view.get(raw);
      const ex = this.excluded.get(raw);
      if (ex !== undefined) {
        if (ex.value === value) continue; // the same bad value stays out
        this.excluded.delete(raw); // a new value (or a delete): try it again
      }
      touched = true;
      const key = this.visibleKey(raw);
      this.logChange(key);
      if (value === undefined) {
        const cur = this.entries.get(key);
        // Only the key that produced the entry may delete it (cleaned-path collisions).
        if (cur && cur.raw === raw && this.entries.delete(key) && this.sorted)
          removeSorted(this.sorted, key);
      } else {
        const old = this.entries.get(key);
        this.evict(old, value);
        this.entries.set(key, { value, raw });
        if (!old && this.sorted) insertSorted(this.sorted, key);
      }
    }
    if (touched) this.version++;
    return touched;
  }

  /**
   * Leave a backend key out of the view until its value changes (a pod whose
   * value breaks the render or the check). False when no entry came from it.
   */
  exclude(raw: string, reason: string): boolean {
    const key = this.visibleKey(raw);
    const cur = this.entries.get(key);
    if (!cur || cur.raw !== raw) return false;
    this.excluded.set(raw, { raw, value: cur.value, reason, since: Date.now() });
    this.entries.delete(key);
    if (this.sorted) removeSorted(this.sorted, key);
    this.logChange(key);
    this.version++;
    return true;
  }

  /** Put an excluded key back (its value is still the current one: updates drop stale exclusions). */
  include(raw: string): void {
    const ex = this.excluded.get(raw);
    if (!ex) return;
    this.excluded.delete(raw);
    const key = this.visibleKey(raw);
    if (this.entries.has(key)) return;
    this.entries.set(key, { value: ex.value, raw });
    if (this.sorted) insertSorted(this.sorted, key);
    this.logChange(key);
    this.version++;
  }

  /** Keys left out of the view, sorted. */
  excludedKeys(): ExcludedKey[] {
    return [...this.excluded.values()].sort((a, b) => compareBytes(a.raw, b.raw));
  }

  get excludedCount(): number {
    return this.excluded.size;
  }

  /** Backend keys of the visible entries changed after `version`, or null when no longer known. */
  rawChangesSince(version: number): string[] | null {
    const keys = this.changesSince(version);
    if (keys === null) return null;
    const out = new Set<string>();
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e) out.add(e.raw);
    }
    return [...out];
  }

  /** Backend keys of every visible entry. */
  rawKeys(): string[] {
    return this.sortedKeys().map((k) => this.entries.get(k)?.raw ?? k);
  }

  /** Set a visible key directly, without prefix handling. */
  setExact(key: string, value: string): void {
    const old = this.entries.get(key);
    this.evict(old, value);
    this.entries.set(key, { value, raw: key });
    if (!old && this.sorted) insertSorted(this.sorted, key);
    this.logChange(key);
    this.version++;
  }

  /** Records a change that the next version bump will cover. */
  private logChange(key: string): void {
    if (this.logKeys.length >= 4096) {
      // A long log is no cheaper than recomputing: start over.
      this.logKeys = [];
      this.logVersions = [];
      this.logBase = this.version;
    }
    this.logKeys.push(key);
    this.logVersions.push(this.version + 1);
  }

  /** Visible keys changed after `version` (may repeat), or null when no longer known. */
  changesSince(version: number): string[] | null {
    if (version < this.logBase) return null;
    let lo = 0;
    let hi = this.logVersions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.logVersions[mid] <= version) lo = mid + 1;
      else hi = mid;
    }
    return this.logKeys.slice(lo);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): KeyEntry | undefined {
    return this.entries.get(key);
  }

  /** All visible keys, sorted byte-wise. Do not mutate. */
  sortedKeys(): readonly string[] {
    if (!this.sorted) this.sorted = [...this.entries.keys()].sort(compareBytes);
    return this.sorted;
  }

  /** Sorted keys starting with `prefix` (binary search on the sorted array). */
  keysWithPrefix(prefix: string): readonly string[] {
    const keys = this.sortedKeys();
    if (prefix === "") return keys;
    let i = searchStrings(keys, prefix);
    const start = i;
    while (i < keys.length && keys[i].startsWith(prefix)) i++;
    return keys.slice(start, i);
  }

  /** A plain key -> value snapshot (tests, debugging). */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of this.sortedKeys()) out[k] = this.entries.get(k)?.value ?? "";
    return out;
  }

  /** Backend keys whose value is exactly `value` (to name the pod that broke a render). */
  rawKeysWithValue(value: string): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) if (e.value === value) out.push(e.raw);
    return out.sort(compareBytes);
  }
}

/** "//", a "." or ".." element, or a trailing "/": path.Join would change the key. */
const UNCLEAN = /\/\/|(?:^|\/)\.\.?(?:\/|$)|\/$/;

/** UTF-16 code-unit order equals UTF-8 byte order unless surrogates are involved. */
const SURROGATE = /[\uD800-\uDFFF]/;

/** The keys if already in byte order (a backend view lists them sorted), else null. */
function sortedOrNull(keys: string[]): string[] | null {
  // Native comparison first (one C++ call per pair); byte order only when a
  // key has a surrogate or the native order does not hold.
  let native = true;
  for (let i = 1; i < keys.length && native; i++) native = keys[i - 1] < keys[i];
  if (native) {
    let surrogates = false;
    for (let i = 0; i < keys.length && !surrogates; i++) surrogates = SURROGATE.test(keys[i]);
    if (!surrogates) return keys;
  }
  for (let i = 1; i < keys.length; i++) if (compareBytes(keys[i - 1], keys[i]) >= 0) return null;
  return keys;
}

function insertSorted(keys: string[], k: string): void {
  keys.splice(searchStrings(keys, k), 0, k);
}

function removeSorted(keys: string[], k: string): void {
  const i = searchStrings(keys, k);
  if (keys[i] === k) keys.splice(i, 1);
}

/** A KeySpace over a plain object, keys used exactly as given (tests, `tools/gotmpl-cases`). */
export function keySpaceFromObject(kv: Record<string, string>): KeySpace {
  const ks = new KeySpace([], "");
  for (const [k, v] of Object.entries(kv)) ks.setExact(k, v);
  return ks;
}
