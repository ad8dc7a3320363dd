// Hand-written protobuf codec for the etcd v3 messages of one batched
// compare-and-swap transaction (etcdserverpb, api/etcdserverpb/rpc.proto):
//
//   TxnRequest { success: [ RequestOp { request_txn: TxnRequest {
//       compare: [ Compare { MOD|CREATE == expect } ],
//       success: [ RequestOp { request_put: PutRequest } ],
//       failure: [ RequestOp { request_range: RangeRequest { key } } ] } } ... ] }
//
// and the matching TxnResponse. Only the fields used are written or read;
// unknown fields are skipped. Values are written as bytes straight from the
// caller's Buffers (no intermediate objects, sizes computed first): this
// is the server's hot path. Primitives from codec.ts.

import type { KeyValue } from "../store.js";
import {
  bigVarintSize,
  decodeKeyValue,
  headerRevision,
  Reader,
  varintSize,
  Writer,
} from "./codec.js";
import { EtcdProtocolError } from "./errors.js";

/** One conditional put: write `value` at `key` if its mod revision is `expect` (0: if absent). */
export interface CasPut {
  key: Buffer;
  value: Buffer;
  expect: number;
  /** Lease id as a decimal string ("0" or omitted: none). */
  lease?: string;
}

/** What happened to one CasPut of a batch. */
export interface CasOutcome {
  ok: boolean;
  /** When !ok: the key's current value (absent: the key does not exist). */
  current?: KeyValue;
  /** The put's revision when it is not the transaction's (re-validated after a resend). */
  revision?: number;
}

export interface BatchResult {
  /** Store revision after the transaction (the mod revision of every put that succeeded). */
  revision: number;
  outcomes: CasOutcome[];
}

// ---- encoding ----------------------------------------------------------------

const bytesField = (len: number) => 1 + varintSize(len) + len;
const msgField = (len: number) => 1 + varintSize(len) + len;

interface Sizes {
  compare: number;
  put: number;
  putOp: number;
  range: number;
  rangeOp: number;
  txn: number;
  lease: bigint;
}

function sizesOf(op: CasPut): Sizes {
  const keyF = bytesField(op.key.length);
  // Compare: result EQUAL (0, omitted), target (field 2), key (3), create_revision (5) or mod_revision (6)
  const compare = 2 + keyF + 1 + varintSize(op.expect);
  const lease = op.lease && op.lease !== "0" ? BigInt(op.lease) : 0n;
  if (lease < 0n || lease >= 1n << 63n) throw new RangeError(`lease id ${op.lease} out of range`);
  const put = keyF + bytesField(op.value.length) + (lease > 0n ? 1 + bigVarintSize(lease) : 0);
  const putOp = msgField(put);
  const range = keyF;
  const rangeOp = msgField(range);
  const txn = msgField(compare) + msgField(putOp) + msgField(rangeOp);
  return { compare, put, putOp, range, rangeOp, txn, lease };
}

/** The outer TxnRequest: no compares, one nested CAS transaction per op in `success`. */
export function encodeBatchTxn(ops: readonly CasPut[]): Buffer {
  const sizes = ops.map(sizesOf);
  let total = 0;
  for (const s of sizes) total += msgField(msgField(s.txn)); // RequestOp{request_txn}
  const w = new Writer(Buffer.allocUnsafe(total));
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const s = sizes[i]!;
    w.tag(2, 2); // TxnRequest.success
    w.varint(msgField(s.txn));
    w.tag(4, 2); // RequestOp.request_txn
    w.varint(s.txn);
    // nested TxnRequest
    w.tag(1, 2); // compare
    w.varint(s.compare);
    w.tag(2, 0); // Compare.target
    w.varint(op.expect === 0 ? 1 : 2);
    w.bytes(3, op.key);
    w.tag(op.expect === 0 ? 5 : 6, 0); // create_revision / mod_revision (oneof: always written)
    w.varint(op.expect);
    w.tag(2, 2); // success
    w.varint(s.putOp);
    w.tag(2, 2); // RequestOp.request_put
    w.varint(s.put);
    w.bytes(1, op.key);
    w.bytes(2, op.value);
    if (s.lease > 0n) {
      w.tag(3, 0);
      w.bigVarint(s.lease);
    }
    w.tag(3, 2); // failure
    w.varint(s.rangeOp);
    w.tag(1, 2); // RequestOp.request_range
    w.varint(s.range);
    w.bytes(1, op.key);
  }
  if (w.pos !== total) throw new Error(`txn encoder: wrote ${w.pos} of ${total} bytes`);
  return w.buf;
}

// ---- decoding ----------------------------------------------------------------

/** First kv of a RangeResponse, if any. */
function rangeFirstKv(buf: Buffer, [start, end]: [number, number]): KeyValue | undefined {
  const r = new Reader(buf, start, end);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 18 /* field 2, wire type 2 */) return decodeKeyValue(buf, r.sub());
    r.skip(tag & 7);
  }
  return undefined;
}

/** A nested CAS TxnResponse: succeeded, or the current value from the failure branch's range. */
function casOutcome(buf: Buffer, [start, end]: [number, number]): CasOutcome {
  const r = new Reader(buf, start, end);
  let ok = false;
  let current: KeyValue | undefined;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 16 /* field 2, wire type 0 */) ok = r.varint() !== 0;
    else if (tag === 26 /* field 3, wire type 2 */) {
      // ResponseOp: response_range (1) on the failure branch, response_put (2) on success
      const op = new Reader(buf, ...r.sub());
      while (op.pos < op.end) {
        const t = op.varint();
        if (t === 10 /* field 1, wire type 2 */) current = rangeFirstKv(buf, op.sub());
        else op.skip(t & 7);
      }
    } else r.skip(tag & 7);
  }
  return ok ? { ok } : current ? { ok, current } : { ok };
}

/** The outer TxnResponse of encodeBatchTxn: one outcome per op, in order. */
export function decodeBatchTxn(buf: Buffer, count: number): BatchResult {
  const r = new Reader(buf, 0, buf.length);
  const out: BatchResult = { revision: 0, outcomes: [] };
  let succeeded = false;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 10 /* field 1, wire type 2 */) out.revision = headerRevision(buf, r.sub());
    else if (tag === 16 /* field 2, wire type 0 */) succeeded = r.varint() !== 0;
    else if (tag === 26 /* field 3, wire type 2 */) {
      const op = new Reader(buf, ...r.sub());
      while (op.pos < op.end) {
        const t = op.varint();
        if (t === 34 /* field 4, wire type 2 */) out.outcomes.push(casOutcome(buf, op.sub()));
        else op.skip(t & 7);
      }
    } else r.skip(tag & 7);
  }
  if (!succeeded || out.outcomes.length !== count) {
    throw new EtcdProtocolError(
      `etcd answer: batched transaction returned ${out.outcomes.length} of ${count} results (succeeded=${succeeded})`,
    );
  }
  return out;
}
