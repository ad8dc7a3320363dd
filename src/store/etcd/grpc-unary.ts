// Unary gRPC calls to etcd over one node:http2 session: a 5-byte frame
// header, the protobuf message, grpc-status in the trailers. Used for the
// batched compare-and-swap transaction, where the etcd3/grpc-js stack's
// per-call machinery (interceptors, call objects, metadata, protobufjs)
// cost more CPU than etcd's own work. Ideas from
// src/confd/backends/etcd-range-reader.ts (same wire format).
//
// Failure model as in etcd.ts: every call has a deadline; a connection
// failure moves to the next endpoint (each tried once per call) and ends in
// StoreUnavailableError naming the endpoints.

import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import { isIP } from "node:net";
import { StoreUnavailableError } from "../store.js";
import { pem } from "./tls.js";

/** gRPC status codes that mean "cannot reach etcd now". */
const UNAVAILABLE = new Set([1, 4, 14]); // CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE

export interface GrpcUnaryOptions {
  endpoints: string[];
  tls?: { ca?: string; cert?: string; key?: string };
  /** Deadline of each call (ms). */
  timeoutMs: number;
}

/** A gRPC error status from etcd that is not an outage (bad request, too many ops, ...). */
export class GrpcStatusError extends Error {
  override name = "GrpcStatusError";
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class GrpcUnary {
  private session: ClientHttp2Session | null = null;
  private endpointIndex = 0;
  private readonly ca?: Buffer;
  private readonly cert?: Buffer;
  private readonly key?: Buffer;
  private closed = false;
  /** Long-lived streams (watches) open on the current session: pinged while > 0. */
  private streams = 0;
  private readonly openStreams = new WeakMap<ClientHttp2Session, number>();

  constructor(private readonly opts: GrpcUnaryOptions) {
    if (opts.endpoints.length === 0) throw new Error("etcd: no endpoints given");
    this.ca = pem(opts.tls?.ca, "ca");
    this.cert = pem(opts.tls?.cert, "cert");
    this.key = pem(opts.tls?.key, "key");
  }

  /** Call `path` with `message`; on a connection failure, the next endpoint (each once). */
  async call(path: string, message: Buffer, what: string): Promise<Buffer> {
    let lastErr: Error | null = null;
    for (let tries = 0; tries < this.opts.endpoints.length; tries++) {
      if (this.closed)
        throw new StoreUnavailableError(`${this.describe()}: ${what}: client closed`);
      try {
        return await this.once(path, message, what);
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        lastErr = err;
        this.drop();
        this.endpointIndex = (this.endpointIndex + 1) % this.opts.endpoints.length;
      }
    }
    throw lastErr!;
  }

  close(): void {
    this.closed = true;
    this.drop();
  }

  /** The endpoint calls and streams go to now. */
  get endpoint(): string {
    return this.opts.endpoints[this.endpointIndex]!;
  }

  /** After a failure on the current endpoint: drop its connection, use the next one. */
  next(): void {
    this.drop();
    this.endpointIndex = (this.endpointIndex + 1) % this.opts.endpoints.length;
  }

  /**
   * A long-lived gRPC stream (a watch) on the current endpoint's connection.
   * While streams are open the connection is pinged every 10 s; a ping not
   * answered within 5 s (etcd frozen, host gone) destroys the connection,
   * which ends the streams with an error.
   */
  openStream(path: string): ClientHttp2Stream {
    if (this.closed) throw new StoreUnavailableError(`${this.describe()}: client closed`);
    let session: ClientHttp2Session;
    try {
      session = this.connection();
    } catch (err) {
      throw new StoreUnavailableError(`${this.describe()}: ${(err as Error).message}`);
    }
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    // An open watch keeps the process alive, as a grpc-js stream did (the
    // session is unref'd otherwise: an idle client must not).
    this.streams++;
    const open = (this.openStreams.get(session) ?? 0) + 1;
    this.openStreams.set(session, open);
    if (open === 1) session.ref();
    stream.once("close", () => {
      this.streams--;
      const left = (this.openStreams.get(session) ?? 1) - 1;
      this.openStreams.set(session, left);
      if (left === 0 && !session.destroyed) session.unref();
    });
    return stream;
  }

  private describe(): string {
    return `etcd ${this.opts.endpoints.join(",")}`;
  }

  private drop(): void {
    this.session?.destroy();
    this.session = null;
  }

  private connection(): ClientHttp2Session {
    const cur = this.session;
    if (cur && !cur.destroyed && !cur.closed) return cur;
    const endpoint = this.opts.endpoints[this.endpointIndex]!;
    const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, "");
    const s = connect(endpoint, {
      // No SNI for an IP address (RFC 6066); the certificate is still checked.
      servername: isIP(host) ? "" : host,
      ca: this.ca,
      cert: this.cert,
      key: this.key,
      settings: { initialWindowSize: 8 << 20 },
    });
    s.on("connect", () => s.setLocalWindowSize(16 << 20));
    s.on("error", () => {}); // reported through the requests
    const keepalive = setInterval(() => {
      if (this.streams === 0 || s.destroyed) return;
      const dead = setTimeout(() => s.destroy(new Error("keepalive ping not answered")), 5000);
      dead.unref();
      try {
        s.ping(() => clearTimeout(dead));
      } catch {
        clearTimeout(dead);
      }
    }, 10_000);
    keepalive.unref();
    s.on("close", () => {
      clearInterval(keepalive);
      if (this.session === s) this.session = null;
    });
    s.on("goaway", () => {
      if (this.session === s) this.session = null;
    });
    s.unref();
    this.session = s;
    return s;
  }

  private once(path: string, message: Buffer, what: string): Promise<Buffer> {
    const endpoint = this.opts.endpoints[this.endpointIndex]!;
    const where = `etcd ${this.opts.endpoints.join(",")}: ${what}`;
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: Error | null, body?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(body!);
      };
      let session: ClientHttp2Session;
      try {
        session = this.connection();
      } catch (err) {
        finish(new StoreUnavailableError(`${where}: ${endpoint}: ${(err as Error).message}`));
        return;
      }
      const req = session.request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: path,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": `${this.opts.timeoutMs}m`,
      });
      const timer = setTimeout(() => {
        req.close(constants.NGHTTP2_CANCEL);
        finish(new StoreUnavailableError(`${where}: no answer within ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      const chunks: Buffer[] = [];
      let status: number | undefined;
      let statusMessage = "";
      const takeStatus = (h: Record<string, unknown>) => {
        if (h["grpc-status"] !== undefined) {
          status = Number(h["grpc-status"]);
          statusMessage = decodeURIComponent(String(h["grpc-message"] ?? ""));
        }
      };
      req.on("response", takeStatus);
      req.on("trailers", takeStatus);
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("error", (err) => finish(new StoreUnavailableError(`${where}: ${err.message}`)));
      req.on("close", () => {
        if (status === undefined) {
          finish(new StoreUnavailableError(`${where}: stream closed without a gRPC status`));
        } else if (status !== 0) {
          const msg = `${where}: ${statusMessage} (gRPC ${status})`;
          finish(
            UNAVAILABLE.has(status)
              ? new StoreUnavailableError(msg)
              : new GrpcStatusError(status, msg),
          );
        } else {
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          if (body.length < 5 || body[0] !== 0) {
            finish(new Error(`${where}: malformed or compressed gRPC answer`));
            return;
          }
          const len = body.readUInt32BE(1);
          if (body.length < 5 + len) finish(new Error(`${where}: truncated gRPC answer`));
          else finish(null, body.subarray(5, 5 + len));
        }
      });
      const header = Buffer.allocUnsafe(5);
      header[0] = 0;
      header.writeUInt32BE(message.length, 1);
      req.write(header);
      req.end(message);
    });
  }
}
