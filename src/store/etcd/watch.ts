// An etcd v3 watch as one gRPC stream over node:http2 (see grpc-unary.ts),
// with a hand-written codec for WatchRequest/WatchResponse. Behaves as the
// etcd3-client watch in etcd.ts did: `created` settles when etcd confirms
// the watch; events are delivered one batch per revision; the watch ends
// (never resumes silently) with CompactedError, StoreUnavailableError or
// another error through onError.
//
// Why: a pod watch sees every annotation write. Through grpc-js and
// protobufjs each event cost several objects and copies of the 3-5 KB pod
// (twice, with its previous value) before the store's own conversion;
// here the key and value strings are decoded straight from the frame.

import { type ClientHttp2Stream, constants } from "node:http2";
import {
  type KeyValue,
  StoreUnavailableError,
  type WatchEvent,
  type WatchHandlers,
} from "../store.js";
import { decodeKeyValue, headerRevision, Reader } from "./protobuf.js";
import { WatchLifecycle } from "./watch-lifecycle.js";

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
  const parts: number[] = [];
  const varint = (n: number) => {
    while (n >= 128) {
      parts.push((n % 128) | 128);
      n = Math.floor(n / 128);
    }
    parts.push(n);
  };
  const bytes = (tag: number, b: Buffer) => {
    parts.push(tag);
    varint(b.length);
    for (const x of b) parts.push(x);
  };
  bytes(0x0a, w.key); // key (1)
  bytes(0x12, w.rangeEnd); // range_end (2)
  if (w.startRevision > 0) {
    parts.push(0x18); // start_revision (3)
    varint(w.startRevision);
  }
  if (w.noPut) parts.push(0x2a, 1, 0); // filters (5), packed: [NOPUT]
  if (w.prevKv) parts.push(0x30, 1); // prev_kv (6)
  const create = Buffer.from(parts);
  const head: number[] = [0x0a]; // WatchRequest.create_request (1)
  let n = create.length;
  while (n >= 128) {
    head.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  head.push(n);
  return Buffer.concat([Buffer.from(head), create]);
}

interface Response {
  revision: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  events: WatchEvent[];
}

function decodeEvent(buf: Buffer, [start, end]: [number, number]): WatchEvent {
  const r = new Reader(buf, start, end);
  let del = false;
  let kv: KeyValue | undefined;
  let prev: KeyValue | undefined;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x08) del = r.varint() === 1;
    else if (tag === 0x12) kv = decodeKeyValue(buf, r.sub());
    else if (tag === 0x1a) prev = decodeKeyValue(buf, r.sub());
    else r.skip(tag & 7);
  }
  if (!kv) throw new Error("etcd answer: watch event without a key");
  if (del) {
    const ev: WatchEvent = { type: "delete", key: kv.key, modRevision: kv.modRevision };
    if (prev) ev.prev = prev;
    return ev;
  }
  const ev: WatchEvent = { type: "put", kv };
  if (prev) ev.prev = prev;
  return ev;
}

export function decodeWatchResponse(buf: Buffer): Response {
  const r = new Reader(buf, 0, buf.length);
  const out: Response = {
    revision: 0,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: "",
    events: [],
  };
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x0a) out.revision = headerRevision(buf, r.sub());
    else if (tag === 0x18) out.created = r.varint() !== 0;
    else if (tag === 0x20) out.canceled = r.varint() !== 0;
    else if (tag === 0x28) out.compactRevision = r.varint();
    else if (tag === 0x32) {
      const [s, e] = r.sub();
      out.cancelReason = buf.toString("utf8", s, e);
    } else if (tag === 0x5a) out.events.push(decodeEvent(buf, r.sub()));
    else r.skip(tag & 7);
  }
  return out;
}

/** One watch stream: created handshake, revision batches, and how it ends. */
export class LeanWatch extends WatchLifecycle {
  /** Bytes received but not yet a whole gRPC message: in `chunks`, `have` bytes of `need`. */
  private pending: Buffer | null = null;
  private chunks: Buffer[] = [];
  private have = 0;
  private need = 0;
  private status: number | undefined;
  private statusMessage = "";

  constructor(
    private readonly stream: ClientHttp2Stream,
    spec: WatchSpec,
    handlers: WatchHandlers,
    where: string,
  ) {
    super(handlers, where);
    const takeStatus = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) {
        this.status = Number(h["grpc-status"]);
        this.statusMessage = decodeURIComponent(String(h["grpc-message"] ?? ""));
      }
    };
    stream.on("response", takeStatus);
    stream.on("trailers", takeStatus);
    stream.on("data", (d: Buffer) => this.onData(d));
    stream.on("error", (err) => this.fail(new StoreUnavailableError(`${where}: ${err.message}`)));
    stream.on("close", () => {
      const why =
        this.status !== undefined && this.status !== 0
          ? `${this.statusMessage} (gRPC ${this.status})`
          : "stream ended";
      this.fail(new StoreUnavailableError(`${where}: ${why}`));
    });
    const msg = encodeWatchCreate(spec);
    const frame = Buffer.allocUnsafe(5 + msg.length);
    frame[0] = 0;
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    stream.write(frame);
  }

  protected cancelStream(): void {
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_CANCEL);
  }

  private onData(d: Buffer): void {
    // A response of many events arrives in many chunks: collect them and
    // join once the whole message is there (joining per chunk is quadratic).
    if (this.pending) {
      this.chunks.push(d);
      this.have += d.length;
      if (this.have < this.need) return;
      d = Buffer.concat(this.chunks, this.have);
      this.pending = null;
      this.chunks = [];
    }
    let buf = d;
    while (!this.ended) {
      if (buf.length < 5) break;
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      if (buf[0] !== 0) {
        this.fail(new Error(`${this.where}: compressed gRPC message`));
        return;
      }
      let res: Response;
      try {
        res = decodeWatchResponse(buf.subarray(5, 5 + len));
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      buf = buf.subarray(5 + len);
      this.onResponse(
        res.created,
        res.canceled ? { compactRevision: res.compactRevision, reason: res.cancelReason } : null,
        res.events.map((ev): [number, WatchEvent] => [
          ev.type === "put" ? ev.kv.modRevision : ev.modRevision,
          ev,
        ]),
      );
    }
    if (buf.length > 0 && !this.ended) {
      this.pending = buf;
      this.chunks = [buf];
      this.have = buf.length;
      this.need = buf.length < 5 ? 5 : 5 + buf.readUInt32BE(1);
    }
  }
}
