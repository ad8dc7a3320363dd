// Kubernetes resourceVersions are opaque strings: a client may only hand one
// back to the apiserver (watch from it, a precondition), never compute with
// it, compare it or assume it is a number. The Store interface speaks etcd's
// numeric revisions, so the adapter gives each resourceVersion it sees a
// revision of its own, in the order it sees them, and translates back.
//
// What the numbers mean: revision R stands for the resourceVersion first
// seen as R. watch(prefix, R + 1) watches after that resourceVersion (the
// list/watch pattern: list.revision + 1, lastBatch + 1). A list's revision
// is at least every revision issued before it (it includes what they stand
// for), and so is revision(). A watch raises a
// revision it delivers above the one it started from, so callers that skip
// events at or below what they have seen never drop one. Revisions issued
// long ago are forgotten (a bounded table); using one then acts like etcd
// compaction: the watch ends with CompactedError and the caller re-lists.

export class ResourceVersions {
  private next = 1;
  private readonly byRv = new Map<string, number>();
  /** Insertion order is revision order, so the first key is the oldest kept. */
  private readonly byRevision = new Map<number, string>();

  constructor(private readonly capacity = 100_000) {}

  /** The revision standing for `rv`; a new one the first time it is seen. */
  revisionOf(rv: string | undefined, what: string): number {
    if (typeof rv !== "string" || rv === "") {
      throw new Error(`kubernetes store: ${what}: the apiserver sent no resourceVersion`);
    }
    return this.byRv.get(rv) ?? this.issue(rv);
  }

  /** Like revisionOf, but above `floor` (a watch's batches must rise). */
  revisionAbove(rv: string | undefined, floor: number, what: string): number {
    const r = this.revisionOf(rv, what);
    return r > floor ? r : this.issue(rv as string);
  }

  /**
   * For a resourceVersion read fresh (a list, the current revision): a
   * revision no lower than any issued so far, since everything seen before
   * the read is included in it.
   */
  current(rv: string | undefined, what: string): number {
    return this.revisionAbove(rv, this.newest() - 1, what);
  }

  /** The resourceVersion revision `r` stands for, if still known. */
  rvOf(r: number): string | undefined {
    return this.byRevision.get(r);
  }

  /** The newest revision issued (0 before any). */
  newest(): number {
    return this.next - 1;
  }

  /**
   * Where watch(prefix, from) starts: after the resourceVersion of revision
   * from - 1 (the newest known one when from is beyond it). Undefined when
   * that revision was forgotten or never issued: treat as compacted.
   */
  watchStart(from: number): string | undefined {
    return this.rvOf(Math.min(from - 1, this.newest()));
  }

  private issue(rv: string): number {
    const r = this.next++;
    this.byRv.set(rv, r);
    this.byRevision.set(r, rv);
    if (this.byRevision.size > this.capacity) {
      const [oldest, oldRv] = this.byRevision.entries().next().value as [number, string];
      this.byRevision.delete(oldest);
      if (this.byRv.get(oldRv) === oldest) this.byRv.delete(oldRv);
    }
    return r;
  }
}
