// etcd's reads (Range) on the one client: a key, a key at a past revision,
// a prefix page by page at the first page's revision, the current revision.
// A part of EtcdStore, and on its own confd -onetime's reader: a process
// that only reads loads this, the client and the codec, not the watch and
// compare-and-swap machinery (their import was ~8-14 ms of -onetime's start).
import { validateKey } from "../keyrange.js";
import type { KeyValue, ListResult } from "../store.js";
import type { EtcdClient } from "./client.js";
import {
  decodeRangeResponse,
  encodeRangeRequest,
  prefixRange,
  type RangeRequest,
  type RangeResponse,
} from "./codec.js";

const RANGE = "/etcdserverpb.KV/Range";

export interface ReadOptions {
  /** Keys per page when listing a prefix. Default 1000. */
  pageSize?: number;
  /** List values as slices of one string per page (codec.ts, decodeRangeResponse): short-lived readers only. */
  sliceValues?: boolean;
}

export class EtcdReads {
  private readonly pageSize: number;
  private readonly sliceValues: boolean;
  /** The last list page's answer buffer, reused by the next page (values are copied out as strings). */
  private spare: Buffer | null = null;

  constructor(
    private readonly client: EtcdClient,
    opts: ReadOptions = {},
  ) {
    this.pageSize = opts.pageSize ?? 1000;
    this.sliceValues = opts.sliceValues ?? false;
  }

  async get(key: string): Promise<KeyValue | null> {
    validateKey(key, "get");
    return (await this.range({ key: Buffer.from(key) }, `get ${key}`)).kvs[0] ?? null;
  }

  /** A key as of a past revision (CompactedError when that revision is gone). */
  async readAt(key: string, revision: number): Promise<KeyValue | null> {
    validateKey(key, "readAt");
    return (
      (await this.range({ key: Buffer.from(key), revision }, `read ${key} at ${revision}`))
        .kvs[0] ?? null
    );
  }

  async list(prefix: string): Promise<ListResult> {
    if (typeof prefix !== "string") throw new TypeError("list: prefix must be a string");
    const { key, end } = prefixRange(prefix);
    const kvs: KeyValue[] = [];
    let revision = 0;
    let from = key;
    for (;;) {
      const page = await this.range(
        // Later pages read at the first page's revision: one consistent snapshot.
        { key: from, rangeEnd: end, limit: this.pageSize, revision },
        `list ${prefix}`,
        true,
      );
      if (revision === 0) revision = page.revision;
      for (const kv of page.kvs) kvs.push(kv);
      if (!page.more || page.kvs.length === 0) break;
      from = Buffer.concat([Buffer.from(page.kvs[page.kvs.length - 1]!.key), Buffer.from([0])]);
    }
    return { kvs, revision };
  }

  async revision(): Promise<number> {
    // A linearizable read of one absent key: cheapest way to the current revision.
    const res = await this.range({ key: Buffer.from([0]), countOnly: true }, "revision");
    return res.revision;
  }

  /** Drop the reused page buffer (the store is closing). */
  release(): void {
    this.spare = null;
  }

  /** One Range call; `page`: decoded into the reused buffer, values sliced when asked. */
  private async range(req: RangeRequest, what: string, page = false): Promise<RangeResponse> {
    if (!page) {
      return decodeRangeResponse(await this.client.call(RANGE, encodeRangeRequest(req), { what }));
    }
    let owned: Buffer | null = null;
    const body = await this.client.call(RANGE, encodeRangeRequest(req), {
      what,
      alloc: (n) => {
        const spare = this.spare;
        if (spare !== null && spare.length >= n) {
          this.spare = null;
          owned = spare;
        } else owned = Buffer.allocUnsafeSlow(n);
        return owned;
      },
    });
    try {
      return decodeRangeResponse(body, this.sliceValues);
    } finally {
      const b = owned as Buffer | null;
      if (b !== null && (this.spare === null || this.spare.length < b.length)) this.spare = b;
    }
  }
}
