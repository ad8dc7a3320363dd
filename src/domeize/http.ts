// One small HTTP client for the report, the allocation endpoint and http
// waits: a hard per-request timeout, a bounded response body, and plain
// HTTP proxies from HTTP_PROXY/NO_PROXY as Go's default client honours them.
//
// http:// is an HTTP/1.1 exchange done here (one request per connection,
// "Connection: close"): node:http costs every pod's start several
// milliseconds of module loading and request machinery for a single PUT.
// It runs over a libuv TCP handle (see uv.ts: no node:net, whose module
// and stream layers cost ~10 ms of a start), a host name looked up with
// dns.lookup first, as node:net does; over a node:net socket when the
// handles are unavailable; under Bun (the self-contained executable) over
// Bun.connect, whose node:net costs a start 25-45 ms. https:// uses
// node:https.
// Built-in modules load lazily (startup time matters).

import type { IncomingMessage, RequestOptions } from "node:http";
import type { Socket } from "node:net";
import { errName, hasMethods, uvBinding } from "./uv.js";

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
  /** The Location header (redirects), when present. */
  readonly location?: string;
}

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly maxBody?: number;
}

/** Connection-level failure (refused, reset, timeout, DNS, malformed answer): worth a retry. */
export class HttpTransportError extends Error {
  override name = "HttpTransportError";
}

function transportError(e: unknown): HttpTransportError {
  if (e instanceof HttpTransportError) return e;
  if (typeof e === "string") return new HttpTransportError(e);
  return new HttpTransportError(
    (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e),
  );
}

/** How one exchange ends, whichever transport carries it: once. */
interface ExchangeEnd {
  /** True once answered, failed or timed out: later events are ignored. */
  readonly settled: boolean;
  finish(err: Error | undefined, res?: HttpResponse): void;
  fail(e: unknown): void;
}

/**
 * Settle an exchange once: stop its deadline (a total one, not an idle
 * timeout: a server that trickles bytes must not hold domeize longer
 * either), close its connection, resolve or reject.
 */
function exchangeEnd(
  resolve: (res: HttpResponse) => void,
  reject: (err: Error) => void,
  timeoutMs: number,
  close: () => void,
): ExchangeEnd {
  let settled = false;
  const end: ExchangeEnd = {
    get settled() {
      return settled;
    },
    finish(err, res) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      close();
      if (err !== undefined) reject(err);
      else resolve(res as HttpResponse);
    },
    fail: (e) => end.finish(transportError(e)),
  };
  const timer = setTimeout(() => end.fail(`no answer within ${timeoutMs}ms`), timeoutMs);
  return end;
}

function noProxy(host: string, env: NodeJS.ProcessEnv): boolean {
  const list = env.NO_PROXY ?? env.no_proxy ?? "";
  return list.split(",").some((raw) => {
    const entry = raw.trim().toLowerCase().replace(/:\d+$/, "");
    if (entry === "") return false;
    if (entry === "*") return true;
    const bare = entry.replace(/^\*?\./, "");
    return host === bare || host.endsWith(`.${bare}`);
  });
}

function route(u: URL, env: NodeJS.ProcessEnv): { host: string; port: string; path: string } {
  const proxy = u.protocol === "http:" ? (env.HTTP_PROXY ?? env.http_proxy ?? "") : "";
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (proxy !== "" && host !== "localhost" && !host.startsWith("127.") && !noProxy(host, env)) {
    try {
      const p = new URL(proxy.includes("://") ? proxy : `http://${proxy}`);
      return { host: p.hostname.replace(/^\[(.*)\]$/, "$1"), port: p.port || "80", path: u.href };
    } catch {
      // a malformed proxy variable is ignored, as Go does for unparsable values
    }
  }
  return { host, port: u.port, path: u.pathname + u.search };
}

/**
 * A built-in module, loaded on first use. process.getBuiltinModule (Node
 * >= 20.16) rather than import(): the bundle runs from V8's code cache,
 * and Node 20 cannot run import() in code restored from a cache.
 */
async function builtin<M>(id: "node:https" | "node:net" | "node:dns"): Promise<M> {
  if (typeof process.getBuiltinModule === "function") return process.getBuiltinModule(id) as M;
  return (await import(id)) as M;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What node:http accepts in a header value: tab, printable ASCII, obs-text.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The request head: Host first, caller's headers (a caller's Host wins), then framing. */
export function requestHead(
  method: string,
  path: string,
  host: string,
  headers: Record<string, string>,
  bodyLength: number | undefined,
): string {
  if (!TOKEN.test(method)) throw new TypeError(`invalid HTTP method ${JSON.stringify(method)}`);
  if (!/^[\x21-\x7e]+$/.test(path))
    throw new TypeError(`invalid request path ${JSON.stringify(path)}`);
  const fields = new Map<string, [string, string]>([["host", ["Host", host]]]);
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    if (!FIELD_VALUE.test(value)) {
      throw new TypeError(`invalid character in header ${name}: ${JSON.stringify(value)}`);
    }
    const lower = name.toLowerCase();
    // Framing is ours: one request per connection, length from the body.
    if (lower === "content-length" || lower === "connection" || lower === "transfer-encoding") {
      continue;
    }
    fields.set(lower, [name, value]);
  }
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of fields.values()) head += `${name}: ${value}\r\n`;
  if (bodyLength !== undefined) head += `Content-Length: ${bodyLength}\r\n`;
  return `${head}Connection: close\r\n\r\n`;
}

class BadResponse extends Error {}

const MAX_HEAD = 64 * 1024;
const CRLF = Buffer.from("\r\n");
const CRLFCRLF = Buffer.from("\r\n\r\n");

/**
 * An HTTP/1.x response read from a byte stream: status line, headers,
 * then the body framed by chunked transfer coding, Content-Length, or the
 * end of the connection. Interim 1xx answers are skipped. The body is kept
 * up to `maxBody` bytes (the rest is read and dropped).
 */
export class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private status = 0;
  private location: string | undefined;
  /** "head" | "length" | "chunk-size" | "chunk-data" | "chunk-end" | "trailers" | "close" | "done" */
  private state = "head";
  private left = 0;
  private readonly body: Buffer[] = [];
  private kept = 0;

  constructor(
    private readonly maxBody: number,
    private readonly method: string,
  ) {}

  /** Feeds bytes; returns the response once it is complete. */
  push(chunk: Buffer): HttpResponse | undefined {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.run();
    return this.state === "done" ? this.result() : undefined;
  }

  /** The peer closed: the response if it is complete (or framed by the close). */
  end(): HttpResponse {
    if (this.state === "close") this.state = "done";
    if (this.state !== "done") {
      throw new BadResponse(
        this.state === "head" && this.status === 0 && this.buf.length === 0
          ? "connection closed without an answer"
          : "connection closed in the middle of the answer",
      );
    }
    return this.result();
  }

  private result(): HttpResponse {
    const body = Buffer.concat(this.body).toString("utf8");
    return this.location === undefined
      ? { status: this.status, body }
      : { status: this.status, body, location: this.location };
  }

  private keep(data: Buffer): void {
    if (this.kept >= this.maxBody) return;
    const part = data.subarray(0, this.maxBody - this.kept);
    this.body.push(part);
    this.kept += part.length;
  }

  /** Body bytes of a sized part (Content-Length or one chunk): whether all `left` have come. */
  private takeBody(): boolean {
    const n = Math.min(this.left, this.buf.length);
    this.keep(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    this.left -= n;
    return this.left === 0;
  }

  private run(): void {
    for (;;) {
      switch (this.state) {
        case "head": {
          const end = this.buf.indexOf(CRLFCRLF);
          if (end < 0) {
            if (this.buf.length > MAX_HEAD) throw new BadResponse("response header too large");
            return;
          }
          if (end > MAX_HEAD) throw new BadResponse("response header too large");
          const head = this.buf.toString("latin1", 0, end);
          this.buf = this.buf.subarray(end + 4);
          this.parseHead(head);
          break;
        }
        case "length":
          if (!this.takeBody()) return;
          this.state = "done";
          break;
        case "close":
          this.keep(this.buf);
          this.buf = Buffer.alloc(0);
          return;
        case "chunk-size": {
          const eol = this.buf.indexOf(CRLF);
          if (eol < 0) {
            if (this.buf.length > 1024) throw new BadResponse("bad chunk size line");
            return;
          }
          const line = this.buf.toString("latin1", 0, eol);
          this.buf = this.buf.subarray(eol + 2);
          const m = /^([0-9A-Fa-f]{1,12})[ \t]*(;.*)?$/.exec(line);
          if (m === null) throw new BadResponse(`bad chunk size ${JSON.stringify(line)}`);
          this.left = Number.parseInt(m[1], 16);
          this.state = this.left === 0 ? "trailers" : "chunk-data";
          break;
        }
        case "chunk-data":
          if (!this.takeBody()) return;
          this.state = "chunk-end";
          break;
        case "chunk-end":
          if (this.buf.length < 2) return;
          if (this.buf[0] !== 13 || this.buf[1] !== 10) throw new BadResponse("bad chunk end");
          this.buf = this.buf.subarray(2);
          this.state = "chunk-size";
          break;
        case "trailers": {
          const eol = this.buf.indexOf(CRLF);
          if (eol < 0) {
            if (this.buf.length > MAX_HEAD) throw new BadResponse("response trailers too large");
            return;
          }
          this.buf = this.buf.subarray(eol + 2);
          if (eol === 0) this.state = "done";
          break;
        }
        default:
          return; // done: anything after the answer is ignored
      }
    }
  }

  private parseHead(head: string): void {
    const lines = head.split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
    if (m === null)
      throw new BadResponse(`not an HTTP/1.x answer: ${JSON.stringify(lines[0].slice(0, 80))}`);
    const status = Number(m[1]);
    this.location = undefined; // an interim answer's headers are not the answer's
    let chunked = false;
    let length: number | undefined;
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(":");
      if (colon <= 0)
        throw new BadResponse(`bad header line ${JSON.stringify(lines[i].slice(0, 80))}`);
      const name = lines[i].slice(0, colon).trim().toLowerCase();
      const value = lines[i].slice(colon + 1).trim();
      if (name === "location") this.location = value;
      if (name === "transfer-encoding") {
        const codings = value
          .toLowerCase()
          .split(",")
          .map((s) => s.trim());
        chunked = codings[codings.length - 1] === "chunked";
      } else if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value)) throw new BadResponse(`bad Content-Length ${value}`);
        const n = Number(value);
        if (length !== undefined && length !== n)
          throw new BadResponse("conflicting Content-Length");
        length = n;
      }
    }
    if (status >= 100 && status < 200) {
      if (status === 101) throw new BadResponse("unexpected protocol switch");
      return; // interim answer (100 Continue, 103): the real one follows
    }
    this.status = status;
    if (this.method === "HEAD" || status === 204 || status === 304) this.state = "done";
    else if (chunked) this.state = "chunk-size";
    else if (length !== undefined) {
      this.left = length;
      this.state = length === 0 ? "done" : "length";
    } else this.state = "close";
  }
}

interface TcpSocketHandle {
  connect(req: object, address: string, port: number): number;
  connect6(req: object, address: string, port: number): number;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: object, data: Buffer): number;
  close(): void;
  /** Set once: Node's accessor accepts only a function. */
  onread: (buf: ArrayBuffer | undefined) => void;
}

interface StreamHandles {
  socket(): TcpSocketHandle;
  connectReq(): { oncomplete?: (status: number) => void };
  writeReq(): {
    handle?: unknown;
    buffer?: Buffer;
    async?: boolean;
    oncomplete?: (status: number) => void;
  };
  /** streamBaseState: bytes read (or the error) and the offset of the last read. */
  readonly state: Int32Array;
  readonly kBytes: number;
  readonly kOffset: number;
}

function loadStreamHandles(): StreamHandles | undefined {
  const tcpWrap = uvBinding("tcp_wrap") as
    | {
        TCP?: new (type: number) => TcpSocketHandle;
        TCPConnectWrap?: new () => object;
        constants?: { SOCKET?: number };
      }
    | undefined;
  const streamWrap = uvBinding("stream_wrap") as
    | {
        WriteWrap?: new () => object;
        streamBaseState?: unknown;
        kReadBytesOrError?: unknown;
        kArrayBufferOffset?: unknown;
      }
    | undefined;
  const TCP = tcpWrap?.TCP;
  const ConnectWrap = tcpWrap?.TCPConnectWrap;
  const kind = tcpWrap?.constants?.SOCKET;
  const WriteWrap = streamWrap?.WriteWrap;
  const state = streamWrap?.streamBaseState;
  const kBytes = streamWrap?.kReadBytesOrError;
  const kOffset = streamWrap?.kArrayBufferOffset;
  if (
    typeof TCP !== "function" ||
    typeof ConnectWrap !== "function" ||
    typeof kind !== "number" ||
    typeof WriteWrap !== "function" ||
    !(state instanceof Int32Array) ||
    typeof kBytes !== "number" ||
    typeof kOffset !== "number"
  ) {
    return undefined;
  }
  try {
    const probe = new TCP(kind);
    const ok = hasMethods(probe, [
      "connect",
      "connect6",
      "readStart",
      "readStop",
      "writeBuffer",
      "close",
    ]);
    probe.close();
    if (!ok) return undefined;
  } catch {
    return undefined;
  }
  return {
    socket: () => new TCP(kind),
    connectReq: () => new ConnectWrap(),
    writeReq: () => new WriteWrap(),
    state,
    kBytes,
    kOffset,
  };
}

/** libuv's end of stream. */
const UV_EOF = -4095;

interface BunSocket {
  write(data: Buffer): number;
  /** close(2) as node:net's destroy() does (terminate() would reset the connection). */
  close(): void;
}

interface BunConnect {
  connect(o: {
    hostname: string;
    port: number;
    socket: {
      open(s: BunSocket): void;
      data(s: BunSocket, chunk: Buffer): void;
      drain(s: BunSocket): void;
      end(s: BunSocket): void;
      close(s: BunSocket, err?: Error): void;
      error(s: BunSocket, err: Error): void;
      connectError(s: BunSocket, err: Error): void;
    };
  }): Promise<BunSocket>;
}

/** Bun's socket API, when this runs under Bun (the self-contained executable). */
function bunConnect(): BunConnect | undefined {
  const bun = (globalThis as { Bun?: unknown }).Bun;
  return hasMethods(bun, ["connect"]) ? (bun as BunConnect) : undefined;
}

/**
 * One exchange over a Bun.connect socket (Bun resolves a host name
 * itself): write the request, read until the reader has the answer.
 */
function overBun(
  bun: BunConnect,
  host: string,
  port: number,
  request: Buffer,
  reader: ResponseReader,
  timeoutMs: number,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let sock: BunSocket | undefined;
    let unsent = request;
    const end = exchangeEnd(resolve, reject, timeoutMs, () => sock?.close());
    const { finish, fail } = end;
    // A partial write leaves the rest for the drain callback.
    const send = (s: BunSocket) => {
      if (unsent.length === 0) return;
      const n = s.write(unsent);
      unsent = unsent.subarray(Math.max(0, n));
    };
    const ended = () => {
      try {
        finish(undefined, reader.end());
      } catch (e) {
        fail(new HttpTransportError((e as Error).message));
      }
    };
    bun
      .connect({
        hostname: host,
        port,
        socket: {
          open(s) {
            sock = s;
            if (end.settled) s.close();
            else send(s);
          },
          drain: send,
          data(_s, chunk) {
            try {
              // A copy: the reader keeps views of what it is given.
              const res = reader.push(Buffer.from(chunk));
              if (res !== undefined) finish(undefined, res);
            } catch (e) {
              fail(new HttpTransportError((e as Error).message));
            }
          },
          end: ended,
          close(_s, err) {
            if (err !== undefined) fail(err);
            else ended();
          },
          error: (_s, err) => fail(err),
          connectError: (_s, err) => fail(err),
        },
      })
      .then((s) => {
        sock = s;
        if (end.settled) s.close();
      }, fail);
  });
}

/**
 * Null until first needed; undefined when the handles are unavailable, or
 * after an exchange through them failed at the transport level (later
 * requests take node:net, so a difference in Node's internals costs at
 * most one retried attempt).
 */
let streamHandles: StreamHandles | undefined | null = null;

/** For tests: "handles" when the next http:// request goes through libuv handles. */
export function exchangeMethod(): "handles" | "bun" | "net" {
  if (bunConnect() !== undefined) return "bun";
  if (streamHandles === null) streamHandles = loadStreamHandles();
  return streamHandles === undefined ? "net" : "handles";
}

/** For tests: force node:net ("net") or allow the handles again ("handles"). */
export function useExchangeMethod(method: "handles" | "net"): void {
  streamHandles = method === "net" ? undefined : loadStreamHandles();
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/**
 * One exchange over a libuv TCP handle: connect to a literal address, write
 * the request, read until the reader has the answer. What node:net does
 * underneath, without its module and stream layers.
 */
function overHandles(
  h: StreamHandles,
  host: string,
  port: number,
  request: Buffer,
  reader: ResponseReader,
  timeoutMs: number,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const sock = h.socket();
    const connect = h.connectReq();
    const write = h.writeReq();
    // no read after close (onread itself must stay a function)
    const end = exchangeEnd(resolve, reject, timeoutMs, () => sock.close());
    const { finish, fail } = end;
    sock.onread = (buf) => {
      const n = h.state[h.kBytes];
      try {
        if (n > 0 && buf !== undefined) {
          // A copy: the reader keeps views of what it is given.
          const chunk = Buffer.from(new Uint8Array(buf, h.state[h.kOffset], n));
          const res = reader.push(chunk);
          if (res !== undefined) finish(undefined, res);
        } else if (n === UV_EOF) {
          finish(undefined, reader.end());
        } else if (n < 0) {
          fail(errName(n));
        }
      } catch (e) {
        fail((e as Error).message);
      }
    };
    connect.oncomplete = (status: number) => {
      if (end.settled) return;
      if (status < 0) return fail(errName(status));
      let err = sock.readStart();
      if (err === 0) {
        write.handle = sock;
        write.buffer = request; // kept alive while the write is in flight
        write.async = false;
        write.oncomplete = (st: number) => {
          if (st < 0) fail(errName(st));
        };
        err = sock.writeBuffer(write, request);
      }
      if (err < 0) fail(errName(err));
    };
    const err = IPV4.test(host)
      ? sock.connect(connect, host, port)
      : sock.connect6(connect, host, port);
    if (err < 0) fail(errName(err));
  });
}

/** The first address of a host name (dns.lookup, as node:net), within timeoutMs. */
async function lookup(host: string, timeoutMs: number): Promise<string> {
  const dns = await builtin<typeof import("node:dns")>("node:dns");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new HttpTransportError(`no answer within ${timeoutMs}ms (looking up ${host})`)),
      timeoutMs,
    );
    dns.lookup(host, { hints: dns.ADDRCONFIG }, (err, address) => {
      clearTimeout(timer);
      if (err) reject(new HttpTransportError(err.code ?? err.message));
      else resolve(address);
    });
  });
}

function overSocket(req: HttpRequest, u: URL, env: NodeJS.ProcessEnv): Promise<HttpResponse> {
  const r = route(u, env);
  const body = req.body === undefined ? undefined : Buffer.from(req.body, "utf8");
  const head = requestHead(req.method, r.path, u.host, req.headers ?? {}, body?.length);
  const reader = new ResponseReader(req.maxBody ?? 64 * 1024, req.method);
  const request =
    body === undefined
      ? Buffer.from(head, "latin1")
      : Buffer.concat([Buffer.from(head, "latin1"), body]);
  const port = r.port === "" ? 80 : Number(r.port);
  const bun = bunConnect();
  if (bun !== undefined) return overBun(bun, r.host, port, request, reader, req.timeoutMs);
  if (exchangeMethod() === "handles" && streamHandles) {
    const h = streamHandles;
    // The deadline covers the name lookup too, as with node:net.
    const deadline = Date.now() + req.timeoutMs;
    const literal = IPV4.test(r.host) || r.host.includes(":");
    const address = literal ? Promise.resolve(r.host) : lookup(r.host, req.timeoutMs);
    return address
      .then((ip) => overHandles(h, ip, port, request, reader, Math.max(1, deadline - Date.now())))
      .catch((err: unknown) => {
        if (err instanceof HttpTransportError) streamHandles = undefined;
        throw err;
      });
  }
  return builtin<typeof import("node:net")>("node:net").then(
    (net) =>
      new Promise<HttpResponse>((resolve, reject) => {
        let sock: Socket | undefined;
        const { finish, fail } = exchangeEnd(resolve, reject, req.timeoutMs, () => sock?.destroy());
        sock = net.connect({ host: r.host, port });
        sock.setNoDelay(true);
        sock.on("error", fail);
        sock.on("data", (chunk: Buffer) => {
          try {
            const res = reader.push(chunk);
            if (res !== undefined) finish(undefined, res);
          } catch (e) {
            fail(e);
          }
        });
        sock.on("end", () => {
          try {
            finish(undefined, reader.end());
          } catch (e) {
            fail(e);
          }
        });
        sock.on("close", () => fail(new HttpTransportError("connection closed")));
        // One write: head and body in one segment. No half-close after it:
        // some servers cancel a request whose client shut its side down.
        sock.write(request);
      }),
  );
}

async function overHttps(req: HttpRequest, u: URL): Promise<HttpResponse> {
  const mod = await builtin<typeof import("node:https")>("node:https");
  const r = route(u, process.env);
  const headers: Record<string, string> = { ...req.headers };
  if (req.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(req.body));
  const opts: RequestOptions = {
    method: req.method,
    host: r.host,
    port: r.port,
    path: r.path,
    headers: { Host: u.host, ...headers },
    agent: false,
  };
  const max = req.maxBody ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const request = mod.request(opts, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size <= max) chunks.push(c);
      });
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        resolve(location === undefined ? { status, body } : { status, body, location });
      });
      res.on("error", (e) => reject(new HttpTransportError(e.message)));
    });
    const timer = setTimeout(
      () => request.destroy(new HttpTransportError(`no answer within ${req.timeoutMs}ms`)),
      req.timeoutMs,
    );
    request.on("close", () => clearTimeout(timer));
    request.on("error", (e: NodeJS.ErrnoException) =>
      reject(e instanceof HttpTransportError ? e : new HttpTransportError(e.code ?? e.message)),
    );
    request.end(req.body);
  });
}

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const u = new URL(req.url);
  if (u.protocol === "https:") return overHttps(req, u);
  if (u.protocol !== "http:") throw new TypeError(`unsupported URL scheme ${u.protocol}`);
  return overSocket(req, u, process.env);
}
