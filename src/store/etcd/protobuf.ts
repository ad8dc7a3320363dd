// The protobuf wire format as the hand-written etcd clients read it: a
// cursor over a message, and the two etcd messages every answer carries
// (ResponseHeader's revision, mvccpb.KeyValue). Used by the store's lean
// gRPC client (txn, watch) and by confd's range reader.

import type { KeyValue } from "../store.js";

/** A cursor over one protobuf message: buf[pos, end). */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  varint(): number {
    let x = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error("etcd answer: truncated protobuf varint");
      const c = this.buf[this.pos++]!;
      x += (c & 127) * mul;
      if (c < 128) return x;
      mul *= 128;
    }
  }
  bigVarint(): bigint {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error("etcd answer: truncated protobuf varint");
      const c = this.buf[this.pos++]!;
      x |= BigInt(c & 127) << shift;
      if (c < 128) return x;
      shift += 7n;
    }
  }
  /** A length-delimited field's [start, end). */
  sub(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new Error("etcd answer: truncated protobuf field");
    return [start, this.pos];
  }
  skip(wt: number): void {
    if (wt === 0) this.varint();
    else if (wt === 2) this.sub();
    else if (wt === 1) this.pos += 8;
    else if (wt === 5) this.pos += 4;
    else throw new Error(`etcd answer: unsupported protobuf wire type ${wt}`);
  }
}

/** The revision of a ResponseHeader. */
export function headerRevision(buf: Buffer, [start, end]: [number, number]): number {
  const r = new Reader(buf, start, end);
  let revision = 0;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 24 /* field 3, wire type 0 */) revision = r.varint();
    else r.skip(tag & 7);
  }
  return revision;
}

/**
 * A mvccpb.KeyValue. `value(s, e)` turns the value's bytes [s, e) into a
 * string (default: UTF-8; confd's -onetime reader slices one page string).
 */
export function decodeKeyValue(
  buf: Buffer,
  [start, end]: [number, number],
  value?: (s: number, e: number) => string,
): KeyValue {
  const r = new Reader(buf, start, end);
  const kv: KeyValue = { key: "", value: "", createRevision: 0, modRevision: 0, version: 0 };
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (wt === 2 && (no === 1 || no === 5)) {
      const [s, e] = r.sub();
      if (no === 1) kv.key = buf.toString("utf8", s, e);
      else kv.value = value ? value(s, e) : buf.toString("utf8", s, e);
    } else if (wt === 0 && no >= 2 && no <= 4) {
      const v = r.varint();
      if (no === 2) kv.createRevision = v;
      else if (no === 3) kv.modRevision = v;
      else kv.version = v;
    } else if (wt === 0 && no === 6) {
      const lease = r.bigVarint();
      if (lease !== 0n) kv.lease = String(lease);
    } else r.skip(wt);
  }
  return kv;
}
