// The one protobuf codec of the etcd client: wire primitives (a reading
// cursor, a preallocated writer, a small message builder) and the etcd v3
// messages the project sends and reads (etcdserverpb, api/etcdserverpb/
// rpc.proto; mvccpb.KeyValue, api/mvccpb/kv.proto). Only the fields used are
// written or read; unknown fields are skipped. Values are decoded straight
// to strings from the gRPC frame (no protobufjs objects per field).
// Field numbers are checked against etcd's .proto files with protobufjs in
// test/store/etcd-codec.test.ts. The batched compare-and-swap transaction,
// the hot path, has its own size-first encoder in txn-proto.ts on these
// primitives.

import { isAscii } from "node:buffer";
import type { KeyValue, WatchEvent } from "../store.js";
import { EtcdProtocolError } from "./errors.js";

// ---- primitives ----------------------------------------------------------------

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
      if (this.pos >= this.end)
        throw new EtcdProtocolError("etcd answer: truncated protobuf varint");
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
      if (this.pos >= this.end)
        throw new EtcdProtocolError("etcd answer: truncated protobuf varint");
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
    if (this.pos > this.end) throw new EtcdProtocolError("etcd answer: truncated protobuf field");
    return [start, this.pos];
  }
  string(): string {
    const [s, e] = this.sub();
    return this.buf.toString("utf8", s, e);
  }
  skip(wt: number): void {
    if (wt === 0) this.varint();
    else if (wt === 2) this.sub();
    else if (wt === 1) this.pos += 8;
    else if (wt === 5) this.pos += 4;
    else throw new EtcdProtocolError(`etcd answer: unsupported protobuf wire type ${wt}`);
  }
}

/** Bytes a varint of `n` (a non-negative safe integer) takes. */
export function varintSize(n: number): number {
  let s = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

export function bigVarintSize(n: bigint): number {
  let s = 1;
  while (n >= 128n) {
    n >>= 7n;
    s++;
  }
  return s;
}

/** Writes into a buffer sized beforehand (the caller computed the sizes). */
export class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  varint(n: number): void {
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }
  bigVarint(n: bigint): void {
    while (n >= 128n) {
      this.buf[this.pos++] = Number(n & 127n) | 128;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
  }
  tag(no: number, wt: number): void {
    this.varint(no * 8 + wt);
  }
  bytes(no: number, b: Buffer): void {
    this.tag(no, 2);
    this.varint(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
}

/** Builds a small message field by field (for everything but the batched transaction). */
export class Message {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  private head(no: number, wt: number, len?: number): this {
    const n = varintSize(no * 8 + wt) + (len === undefined ? 0 : varintSize(len));
    const w = new Writer(Buffer.allocUnsafe(n));
    w.tag(no, wt);
    if (len !== undefined) w.varint(len);
    return this.push(w.buf);
  }
  /** A bytes/string field (written even when empty: etcd treats an empty range_end differently from none). */
  bytes(no: number, b: Buffer | string | undefined): this {
    if (b === undefined) return this;
    const buf = typeof b === "string" ? Buffer.from(b) : b;
    return this.head(no, 2, buf.length).push(buf);
  }
  /** A varint field; 0 (the proto3 default) is not written. */
  uint(no: number, n: number | bigint | undefined): this {
    if (n === undefined || n === 0 || n === 0n) return this;
    this.head(no, 0);
    const big = BigInt(n);
    if (big < 0n) throw new RangeError(`protobuf field ${no}: negative value ${n}`);
    const w = new Writer(Buffer.allocUnsafe(bigVarintSize(big)));
    w.bigVarint(big);
    return this.push(w.buf);
  }
  bool(no: number, v: boolean | undefined): this {
    return v ? this.uint(no, 1) : this;
  }
  /** A varint written even when 0 (a oneof member). */
  uintAlways(no: number, n: number): this {
    this.head(no, 0);
    const w = new Writer(Buffer.allocUnsafe(varintSize(n)));
    w.varint(n);
    return this.push(w.buf);
  }
  message(no: number, m: Message): this {
    const b = m.finish();
    return this.head(no, 2, b.length).push(b);
  }
  /** A packed repeated varint field. */
  packed(no: number, values: number[]): this {
    if (values.length === 0) return this;
    const inner = new Message();
    for (const v of values) {
      const w = new Writer(Buffer.allocUnsafe(varintSize(v)));
      w.varint(v);
      inner.push(w.buf);
    }
    return this.message(no, inner);
  }
  finish(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
  }
}

/** A gRPC message frame: uncompressed flag, 4-byte length, the message. */
export function grpcFrame(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/** Every top-level field of a message, as (field number, wire type, reader positioned at the value). */
function* fields(buf: Buffer, start = 0, end = buf.length): Generator<[number, number, Reader]> {
  const r = new Reader(buf, start, end);
  while (r.pos < r.end) {
    const tag = r.varint();
    const before = r.pos;
    yield [tag >>> 3, tag & 7, r];
    if (r.pos === before) r.skip(tag & 7); // the consumer did not read it
  }
}

// ---- shared messages -----------------------------------------------------------

/** The revision of a ResponseHeader (field 3). */
export function headerRevision(buf: Buffer, [start, end]: [number, number]): number {
  for (const [no, wt, r] of fields(buf, start, end)) if (no === 3 && wt === 0) return r.varint();
  return 0;
}

/** The revision in a response's header (field 1 of every etcd response). */
export function responseRevision(buf: Buffer): number {
  for (const [no, wt, r] of fields(buf))
    if (no === 1 && wt === 2) return headerRevision(buf, r.sub());
  return 0;
}

/**
 * A mvccpb.KeyValue. `value(s, e)` turns the value's bytes [s, e) into a
 * string (default: UTF-8; confd's -onetime reads slices of one page string).
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

/** etcd's prefix range end: the prefix with its last byte below 0xff incremented ("\0": every key from the prefix on). */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i]!++;
      return end;
    }
  }
  return Buffer.from([0]);
}

/** The [key, range_end) of every key starting with `prefix` ("" : every key). */
export function prefixRange(prefix: string): { key: Buffer; end: Buffer } {
  if (prefix === "") return { key: Buffer.from([0]), end: Buffer.from([0]) };
  const key = Buffer.from(prefix);
  return { key, end: prefixEnd(key) };
}

// ---- KV ------------------------------------------------------------------------

export interface RangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  limit?: number;
  revision?: number;
  countOnly?: boolean;
}

export interface RangeResponse {
  revision: number;
  kvs: KeyValue[];
  more: boolean;
}

export function encodeRangeRequest(r: RangeRequest): Buffer {
  return new Message()
    .bytes(1, r.key)
    .bytes(2, r.rangeEnd)
    .uint(3, r.limit)
    .uint(4, r.revision)
    .bool(9, r.countOnly)
    .finish();
}

/** Answers at least this big may be decoded through one page string (see decodeRangeResponse). */
const SLICE_MIN = 1 << 20;

/**
 * Decodes a RangeResponse. With `sliceValues`, the values of a large answer
 * are slices of one Latin-1 string of the whole answer (ASCII values only;
 * others are decoded as UTF-8): 10,000 small string headers pointing into
 * one string held outside the V8 heap, instead of 40 MB of strings copied
 * through the young generation by the garbage collector. A slice keeps its
 * whole page alive, so only short-lived processes (-onetime) should ask.
 */
export function decodeRangeResponse(buf: Buffer, sliceValues = false): RangeResponse {
  const out: RangeResponse = { revision: 0, kvs: [], more: false };
  const page = sliceValues && buf.length >= SLICE_MIN ? new PageText(buf) : null;
  const pageValue = page ? (s: number, e: number) => page.value(s, e) : undefined;
  // A plain loop, not fields(): a page has thousands of fields, and the
  // generator's per-field tuples made this decoder 2.6x slower (CPU profile
  // of confd -onetime at 5,000 pods, bench/results/etcd-client.md).
  const r = new Reader(buf, 0, buf.length);
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 1 && wt === 2) out.revision = headerRevision(buf, r.sub());
    else if (no === 2 && wt === 2) out.kvs.push(decodeKeyValue(buf, r.sub(), pageValue));
    else if (no === 3 && wt === 0) out.more = r.varint() !== 0;
    else r.skip(wt);
  }
  return out;
}

class PageText {
  private text: string | undefined;
  constructor(private readonly buf: Buffer) {}
  /** Bytes [s, e) as a string: a slice of the page when they are ASCII (Latin-1 = UTF-8 there). */
  value(s: number, e: number): string {
    if (!isAscii(this.buf.subarray(s, e))) return this.buf.toString("utf8", s, e);
    if (this.text === undefined) this.text = this.buf.toString("latin1");
    return this.text.slice(s, e);
  }
}

export function encodePutRequest(key: Buffer, value: Buffer, lease?: string): Buffer {
  return new Message()
    .bytes(1, key)
    .bytes(2, value)
    .uint(3, lease && lease !== "0" ? BigInt(lease) : undefined)
    .finish();
}

export function encodeDeleteRangeRequest(key: Buffer): Buffer {
  return new Message().bytes(1, key).finish();
}

export function encodeCompactionRequest(revision: number): Buffer {
  return new Message().uint(1, revision).bool(2, true).finish();
}

/**
 * One conditional delete: Txn { compare: [MOD|CREATE == expect],
 * success: [delete_range key], failure: [range key] }.
 */
export function encodeCasDeleteTxn(key: Buffer, expect: number): Buffer {
  const compare = new Message()
    .uint(2, expect === 0 ? 1 : 2) // target: CREATE (1) or MOD (2); result EQUAL (0)
    .bytes(3, key)
    .uintAlways(expect === 0 ? 5 : 6, expect); // create_revision / mod_revision (oneof)
  return new Message()
    .message(1, compare)
    .message(2, new Message().message(3, new Message().bytes(1, key))) // RequestOp.request_delete_range
    .message(3, new Message().message(1, new Message().bytes(1, key))) // RequestOp.request_range
    .finish();
}

/** A TxnResponse: succeeded, and the first kv of the first range answer (the failure branch's read). */
export function decodeCasTxnResponse(buf: Buffer): {
  revision: number;
  succeeded: boolean;
  current?: KeyValue;
} {
  const out: { revision: number; succeeded: boolean; current?: KeyValue } = {
    revision: 0,
    succeeded: false,
  };
  for (const [no, wt, r] of fields(buf)) {
    if (no === 1 && wt === 2) out.revision = headerRevision(buf, r.sub());
    else if (no === 2 && wt === 0) out.succeeded = r.varint() !== 0;
    else if (no === 3 && wt === 2 && out.current === undefined) {
      const [s, e] = r.sub();
      for (const [opNo, opWt, op] of fields(buf, s, e)) {
        if (opNo === 1 && opWt === 2) {
          const kv = decodeRangeResponse(buf.subarray(...op.sub())).kvs[0];
          if (kv) out.current = kv;
        }
      }
    }
  }
  return out;
}

// ---- Lease ---------------------------------------------------------------------

export function encodeLeaseGrantRequest(ttlSeconds: number): Buffer {
  return new Message().uint(1, ttlSeconds).finish();
}

/** LeaseRevokeRequest and LeaseKeepAliveRequest: { ID = 1 }. */
export function encodeLeaseIdRequest(id: string): Buffer {
  return new Message().uint(1, BigInt(id)).finish();
}

/** LeaseGrantResponse / LeaseKeepAliveResponse: { header, ID = 2, TTL = 3, error = 4 }. */
export function decodeLeaseResponse(buf: Buffer): { id: string; ttl: number; error: string } {
  const out = { id: "0", ttl: 0, error: "" };
  for (const [no, wt, r] of fields(buf)) {
    if (no === 2 && wt === 0) out.id = String(r.bigVarint());
    else if (no === 3 && wt === 0) out.ttl = r.varint();
    else if (no === 4 && wt === 2) out.error = r.string();
  }
  return out;
}

// ---- Auth ----------------------------------------------------------------------

export function encodeAuthenticateRequest(name: string, password: string): Buffer {
  return new Message().bytes(1, name).bytes(2, password).finish();
}

export function decodeAuthenticateResponse(buf: Buffer): string {
  for (const [no, wt, r] of fields(buf)) if (no === 2 && wt === 2) return r.string();
  return "";
}

// ---- Watch ---------------------------------------------------------------------

export interface WatchSpec {
  key: Buffer;
  rangeEnd: Buffer;
  /** 0: from now. */
  startRevision: number;
  prevKv: boolean;
  /** etcd's NOPUT filter: deletions only. */
  noPut: boolean;
}

/** WatchRequest { create_request: WatchCreateRequest } */
export function encodeWatchCreate(w: WatchSpec): Buffer {
  const create = new Message()
    .bytes(1, w.key)
    .bytes(2, w.rangeEnd)
    .uint(3, w.startRevision)
    .packed(5, w.noPut ? [0] : []) // filters: [NOPUT]
    .bool(6, w.prevKv);
  return new Message().message(1, create).finish();
}

/** WatchRequest { progress_request: {} }: etcd answers with a header-only response. */
export const WATCH_PROGRESS_REQUEST = Buffer.from([0x1a, 0x00]);

export interface WatchResponse {
  revision: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  events: WatchEvent[];
}

function decodeEvent(buf: Buffer, [start, end]: [number, number]): WatchEvent {
  let del = false;
  let kv: KeyValue | undefined;
  let prev: KeyValue | undefined;
  for (const [no, wt, r] of fields(buf, start, end)) {
    if (no === 1 && wt === 0) del = r.varint() === 1;
    else if (no === 2 && wt === 2) kv = decodeKeyValue(buf, r.sub());
    else if (no === 3 && wt === 2) prev = decodeKeyValue(buf, r.sub());
  }
  if (!kv) throw new EtcdProtocolError("etcd answer: watch event without a key");
  if (del) {
    const ev: WatchEvent = { type: "delete", key: kv.key, modRevision: kv.modRevision };
    if (prev) ev.prev = prev;
    return ev;
  }
  const ev: WatchEvent = { type: "put", kv };
  if (prev) ev.prev = prev;
  return ev;
}

export function decodeWatchResponse(buf: Buffer): WatchResponse {
  const out: WatchResponse = {
    revision: 0,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: "",
    events: [],
  };
  for (const [no, wt, r] of fields(buf)) {
    if (no === 1 && wt === 2) out.revision = headerRevision(buf, r.sub());
    else if (no === 3 && wt === 0) out.created = r.varint() !== 0;
    else if (no === 4 && wt === 0) out.canceled = r.varint() !== 0;
    else if (no === 5 && wt === 0) out.compactRevision = r.varint();
    else if (no === 6 && wt === 2) out.cancelReason = r.string();
    else if (no === 11 && wt === 2) out.events.push(decodeEvent(buf, r.sub()));
  }
  return out;
}
