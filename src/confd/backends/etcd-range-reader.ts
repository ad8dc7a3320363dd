// A read-only etcd v3 client for `-onetime`: the KV Range RPC spoken directly
// over node:http2 (gRPC framing, a hand-written protobuf codec for the few
// fields involved). `-onetime` only lists; loading the full etcd3/grpc-js/
// protobufjs stack costs more CPU than reading 10,000 pods, and decoding
// values straight to strings avoids an object per field. Watch mode uses the
// full store (src/store/etcd.ts).

import { isAscii } from "node:buffer";
import { type ClientHttp2Session, connect, constants } from "node:http2";
import { isIP } from "node:net";
import { decodeKeyValue, headerRevision, Reader } from "../../store/etcd/protobuf.js";
import { pem } from "../../store/etcd/tls.js";
import type { EtcdOptions } from "../../store/etcd.js";
import {
  CompactedError,
  type KeyValue,
  type ListResult,
  type Store,
  StoreUnavailableError,
} from "../../store/store.js";

const PAGE = 1000;
/** gRPC status codes that mean "cannot reach etcd now". */
const UNAVAILABLE = new Set([1, 4, 14]); // CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE

export class EtcdRangeReader implements Store {
  readonly description: string;
  private session: ClientHttp2Session | null = null;
  private endpointIndex = 0;
  /** The last answer's buffer, reused by the next call (see call()). */
  private spare: Buffer | null = null;

  /**
   * @param sliceValues values as slices of one string per page (see
   *   decodeRangeResponse): for -onetime, whose process ends after one render.
   */
  constructor(
    private readonly opts: EtcdOptions,
    private readonly timeoutMs = 5000,
    private readonly sliceValues = false,
  ) {
    if (opts.username !== undefined) {
      throw new Error("etcd range reader: basic auth needs the full client");
    }
    this.description = `etcd ${opts.endpoints.join(",")}`;
  }

  async get(key: string): Promise<KeyValue | null> {
    const res = await this.range({ key: Buffer.from(key) });
    return res.kvs[0] ?? null;
  }

  /** All keys under `prefix`, page by page, every page at the first page's revision. */
  async list(prefix: string): Promise<ListResult> {
    const end = prefixEnd(Buffer.from(prefix));
    const kvs: KeyValue[] = [];
    let revision = 0;
    let from = Buffer.from(prefix);
    for (;;) {
      const page = await this.range({ key: from, rangeEnd: end, limit: PAGE, revision });
      if (revision === 0) revision = page.revision;
      for (const kv of page.kvs) kvs.push(kv);
      if (!page.more || page.kvs.length === 0) break;
      from = Buffer.concat([Buffer.from(page.kvs[page.kvs.length - 1].key), Buffer.from([0])]);
    }
    return { kvs, revision };
  }

  async revision(): Promise<number> {
    return (await this.range({ key: Buffer.from([0]), countOnly: true })).revision;
  }

  watch(): never {
    throw new Error("etcd range reader: read-only (no watch)");
  }
  put(): never {
    throw new Error("etcd range reader: read-only");
  }
  delete(): never {
    throw new Error("etcd range reader: read-only");
  }
  grantLease(): never {
    throw new Error("etcd range reader: read-only");
  }

  async close(): Promise<void> {
    this.session?.close();
    this.session = null;
    this.spare = null;
  }

  // ---- transport --------------------------------------------------------------

  /** One Range call; on a connection failure, the next endpoint (each once). */
  private async range(req: RangeRequest): Promise<RangeResponse> {
    let lastErr: Error | null = null;
    for (let tries = 0; tries < this.opts.endpoints.length; tries++) {
      try {
        return await this.call("/etcdserverpb.KV/Range", encodeRangeRequest(req), (body) =>
          decodeRangeResponse(body, this.sliceValues),
        );
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        lastErr = err;
        this.session?.destroy();
        this.session = null;
        this.endpointIndex = (this.endpointIndex + 1) % this.opts.endpoints.length;
      }
    }
    throw lastErr ?? new StoreUnavailableError(`${this.description}: no endpoint`);
  }

  private connection(): ClientHttp2Session {
    if (this.session && !this.session.destroyed && !this.session.closed) return this.session;
    const endpoint = this.opts.endpoints[this.endpointIndex];
    const tls = this.opts.tls;
    const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, "");
    const s = connect(endpoint, {
      // No SNI for an IP address (RFC 6066); the certificate is still checked.
      servername: isIP(host) ? "" : host,
      ca: pem(tls?.ca, "ca"),
      cert: pem(tls?.cert, "cert"),
      key: pem(tls?.key, "key"),
      // A 40 MB answer in 64 KB flow-control windows costs round trips.
      settings: { initialWindowSize: 16 << 20 },
    });
    s.on("connect", () => s.setLocalWindowSize(32 << 20));
    s.on("error", () => {}); // reported through the request
    s.unref();
    this.session = s;
    return s;
  }

  /**
   * One unary gRPC call; `decode` runs on the answer's message before the
   * promise settles. The message is copied once, as it arrives, into a buffer
   * sized by its gRPC length prefix, and that buffer is reused by the next
   * call (decoded values are strings, nothing keeps a view of it): a 40 MB
   * listing leaves no pile of chunks and page copies for GC and malloc to
   * hold on to.
   */
  private call<T>(path: string, message: Buffer, decode: (body: Buffer) => T): Promise<T> {
    const endpoint = this.opts.endpoints[this.endpointIndex];
    const what = `etcd ${endpoint}: ${path}`;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        release();
        reject(err);
      };
      let session: ClientHttp2Session;
      try {
        session = this.connection();
      } catch (err) {
        return fail(new StoreUnavailableError(`${what}: ${(err as Error).message}`));
      }
      const req = session.request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: path,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": `${this.timeoutMs}m`,
      });
      const timer = setTimeout(() => {
        req.close(constants.NGHTTP2_CANCEL);
        fail(new StoreUnavailableError(`${what}: no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      let status: string | undefined;
      let statusMessage = "";
      const takeStatus = (h: Record<string, unknown>) => {
        if (h["grpc-status"] !== undefined) {
          status = String(h["grpc-status"]);
          statusMessage = decodeURIComponent(String(h["grpc-message"] ?? ""));
        }
      };
      // The 5-byte gRPC prefix (compressed flag, length), then the message.
      const prefix = Buffer.alloc(5);
      let prefixLen = 0;
      let body: Buffer | null = null;
      let bodyLen = 0;
      let got = 0;
      let malformed = false;
      const release = () => {
        if (body !== null && (this.spare === null || this.spare.length < body.length))
          this.spare = body;
        body = null;
      };
      req.on("response", takeStatus);
      req.on("trailers", takeStatus);
      req.on("data", (d: Buffer) => {
        let off = 0;
        if (prefixLen < 5) {
          const n = Math.min(5 - prefixLen, d.length);
          d.copy(prefix, prefixLen, 0, n);
          prefixLen += n;
          off = n;
          if (prefixLen < 5) return;
          if (prefix[0] !== 0) malformed = true;
          bodyLen = prefix.readUInt32BE(1);
          body = this.buffer(bodyLen);
        }
        if (body === null || malformed) return;
        const n = Math.min(d.length - off, bodyLen - got);
        d.copy(body, got, off, off + n);
        got += n;
        if (off + n < d.length) malformed = true; // a second message in a unary answer
      });
      req.on("error", (err) => {
        clearTimeout(timer);
        fail(new StoreUnavailableError(`${what}: ${err.message}`));
      });
      req.on("end", () => {
        clearTimeout(timer);
        if (status !== "0") return fail(grpcError(what, Number(status ?? 2), statusMessage));
        if (malformed || prefixLen < 5 || body === null || got < bodyLen) {
          return fail(new Error(`${what}: malformed or compressed gRPC answer`));
        }
        let out: T;
        try {
          out = decode(body.subarray(0, bodyLen));
        } catch (err) {
          return fail(new Error(`${what}: ${(err as Error).message}`));
        }
        settled = true;
        release();
        resolve(out);
      });
      const frame = Buffer.alloc(5 + message.length);
      frame.writeUInt32BE(message.length, 1);
      message.copy(frame, 5);
      req.end(frame);
    });
  }

  /** A buffer of at least `n` bytes: the spare one when it is big enough (a call owns it until it ends). */
  private buffer(n: number): Buffer {
    const spare = this.spare;
    if (spare !== null && spare.length >= n) {
      this.spare = null;
      return spare;
    }
    return Buffer.allocUnsafeSlow(n);
  }
}

function grpcError(what: string, code: number, message: string): Error {
  if (/compacted/.test(message)) return new CompactedError(0, `${what}: ${message}`);
  if (UNAVAILABLE.has(code)) return new StoreUnavailableError(`${what}: ${message} (gRPC ${code})`);
  return new Error(`${what}: ${message} (gRPC ${code})`);
}

/** etcd's prefix range end: the prefix with its last byte below 0xff incremented. */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i]++;
      return end;
    }
  }
  return Buffer.from([0]); // every key from `prefix` on
}

// ---- protobuf: etcdserverpb.RangeRequest / RangeResponse (the fields used) ----

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

function varint(n: number, out: number[]): void {
  while (n > 127) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

export function encodeRangeRequest(r: RangeRequest): Buffer {
  const parts: Buffer[] = [];
  const bytes = (no: number, b: Buffer) => {
    const h: number[] = [(no << 3) | 2];
    varint(b.length, h);
    parts.push(Buffer.from(h), b);
  };
  const int = (no: number, n: number) => {
    const h: number[] = [no << 3];
    varint(n, h);
    parts.push(Buffer.from(h));
  };
  bytes(1, r.key);
  if (r.rangeEnd) bytes(2, r.rangeEnd);
  if (r.limit) int(3, r.limit);
  if (r.revision) int(4, r.revision);
  if (r.countOnly) int(9, 1);
  return Buffer.concat(parts);
}

/**
 * Decodes a RangeResponse. With `sliceValues`, the values of a large answer
 * are slices of one Latin-1 string of the whole answer (ASCII values only;
 * others are decoded as UTF-8): 10,000 small string headers pointing into
 * one string held outside the V8 heap, instead of 40 MB of strings copied
 * through the young generation by the garbage collector. A slice keeps its
 * whole page alive, so only short-lived processes (-onetime) should ask.
 */
export function decodeRangeResponse(buf: Buffer, sliceValues = false): RangeResponse {
  const r = new Reader(buf, 0, buf.length);
  const out: RangeResponse = { revision: 0, kvs: [], more: false };
  const page = sliceValues && buf.length >= SLICE_MIN ? new PageText(buf) : null;
  const pageValue = page ? (s: number, e: number) => page.value(s, e) : undefined;
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

/** Answers at least this big are decoded through one page string (see decodeRangeResponse). */
const SLICE_MIN = 1 << 20;

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
