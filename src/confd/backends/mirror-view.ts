// The in-memory key space a watching backend keeps current. Unlike MapView it
// keeps its keys sorted (byte-wise, as etcd and Go sort) incrementally, so a
// `gets` over 10,000 pods after one change costs a binary search, not a sort.
// `replace` swaps in a complete new snapshot in one step: readers never see a
// half-loaded key space.

import { compareBytes } from "../../gotemplate/value.js";
import type { KVView } from "./backend.js";

/** UTF-16 code-unit order equals UTF-8 byte order unless surrogates are involved. */
const SURROGATE = /[\uD800-\uDFFF]/;
const native = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class MirrorView implements KVView {
  private map = new Map<string, string>();
  /** The map's keys, sorted byte-wise; null when it must be rebuilt. */
  private sorted: string[] | null = [];
  /** Byte order needs compareBytes only when some key has a supplementary character. */
  private compare: (a: string, b: string) => number = native;

  get size(): number {
    return this.map.size;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  keys(): Iterable<string> {
    return this.sortedKeys();
  }

  prefixed(prefix: string): string[] {
    const keys = this.sortedKeys();
    const out: string[] = [];
    for (let i = lowerBound(keys, prefix, this.compare); i < keys.length; i++) {
      const k = keys[i];
      if (!k.startsWith(prefix)) break;
      out.push(k);
    }
    return out;
  }

  /** Swap in a complete snapshot (the map is taken over, not copied). */
  replace(map: Map<string, string>): void {
    this.map = map;
    this.sorted = null;
    this.compare = native;
    for (const k of map.keys()) if (SURROGATE.test(k)) this.compare = compareBytes;
  }

  /** Apply one put; returns true when the value actually changed. */
  set(key: string, value: string): boolean {
    const old = this.map.get(key);
    if (old === value) return false;
    this.map.set(key, value);
    if (old === undefined && SURROGATE.test(key) && this.compare !== compareBytes) {
      this.compare = compareBytes;
      this.sorted = null;
    }
    if (old === undefined && this.sorted !== null) insertSorted(this.sorted, key, this.compare);
    return true;
  }

  /** Apply one delete; returns true when the key existed. */
  delete(key: string): boolean {
    if (!this.map.delete(key)) return false;
    if (this.sorted !== null) removeSorted(this.sorted, key, this.compare);
    return true;
  }

  private sortedKeys(): string[] {
    if (this.sorted === null) this.sorted = [...this.map.keys()].sort(this.compare);
    return this.sorted;
  }
}

type Compare = (a: string, b: string) => number;

/** Index of the first element >= key. */
function lowerBound(arr: string[], key: string, cmp: Compare): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(arr[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(arr: string[], key: string, cmp: Compare): void {
  const i = lowerBound(arr, key, cmp);
  if (arr[i] !== key) arr.splice(i, 0, key);
}

function removeSorted(arr: string[], key: string, cmp: Compare): void {
  const i = lowerBound(arr, key, cmp);
  if (arr[i] === key) arr.splice(i, 1);
}
