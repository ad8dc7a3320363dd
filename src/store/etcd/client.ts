// The one etcd v3 client: gRPC over node:http2, one session per endpoint,
// used by EtcdStore (and through it the CAS batcher, watches, the port
// ledger and confd's readers). Plain HTTP/2 or TLS (client certificates),
// username/password through etcd's Authenticate token (fetched once, sent
// as the "token" metadata, fetched again when etcd says it is invalid).
//
// Endpoint health and failover, after etcd's clientv3:
// - Calls go to one pinned endpoint while it is healthy (one hot session,
//   the CAS batches in order); a failing endpoint is marked unhealthy and
//   the call moves on to the next healthy one (a "failover").
// - A session with calls or watches in flight that has received nothing
//   for `silenceMs` (1 s) is pinged (an HTTP/2 PING; watch streams are also
//   asked for a progress answer, which keeps etcd's ping policy happy, see
//   Session); a ping not answered within `pingTimeoutMs` (1.5 s) marks the
//   endpoint unhealthy and destroys the session: a silent endpoint (frozen
//   process, dropped packets) is detected in ~2.5 s and its calls retried.
//   With no other healthy endpoint the limit is 10 s (an overloaded lone
//   etcd keeps its calls; they have their deadlines).
// - An unhealthy endpoint is left out for a back-off (1 s doubling to 10 s)
//   and then probed in the background (connect and ping) before it serves
//   again; when every endpoint is unhealthy, calls still try them (the
//   one that failed longest ago first), so a single etcd that comes back is
//   used at once.
// - Every call has a deadline (callTimeoutMs, 5 s, for all its attempts).
//   A call whose request may have reached etcd is sent again on another
//   endpoint only when the caller says it is safe (reads and idempotent
//   writes; a compare-and-swap is retried and re-validated by its caller
//   through onAmbiguousRetry). Each endpoint is tried at most once per call.
// - No event of a session (connect after destroy, GOAWAY, errors) can
//   throw: every session operation is guarded.

import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import { isIP } from "node:net";
import { type BackoffPolicy, backoffDelay } from "../../retry/backoff.js";
import { StoreUnavailableError } from "../store.js";
import { decodeAuthenticateResponse, encodeAuthenticateRequest, grpcFrame } from "./codec.js";
import {
  EtcdProtocolError,
  EtcdTransportError,
  GRPC,
  type GrpcStatus,
  grpcStatusOf,
  isInvalidToken,
  statusError,
  unavailable,
} from "./errors.js";
import { pem } from "./tls.js";

export interface EtcdClientOptions {
  /** "http://host:port" or "https://host:port" (TLS). */
  endpoints: string[];
  /** PEM file paths (or contents) for TLS; insecure: do not verify the server's certificate. */
  tls?: { ca?: string; cert?: string; key?: string; insecure?: boolean };
  username?: string;
  password?: string;
  /** Deadline of each call, all attempts together (ms). Default 5000. */
  callTimeoutMs?: number;
  /** A session not connected after this long is given up (ms). Default 3000. */
  dialTimeoutMs?: number;
  /** Silence (ms) on a busy session before it is pinged. Default 1000. */
  silenceMs?: number;
  /** A ping not answered within this (ms) marks the endpoint unhealthy. Default 1500. */
  pingTimeoutMs?: number;
  /** Back-off of an unhealthy endpoint (ms): first, doubling up to max. Default 1000, 10000. */
  backoffMs?: { min: number; max: number };
}

/** How a store's options (EtcdOptions: tuning grouped under `health`) name the client's. */
export type ConnectionOptions = Pick<
  EtcdClientOptions,
  "endpoints" | "tls" | "username" | "password" | "callTimeoutMs" | "dialTimeoutMs"
> & { health?: Pick<EtcdClientOptions, "silenceMs" | "pingTimeoutMs" | "backoffMs"> };

export function clientOptionsOf(o: ConnectionOptions): EtcdClientOptions {
  return {
    endpoints: o.endpoints,
    tls: o.tls,
    username: o.username,
    password: o.password,
    callTimeoutMs: o.callTimeoutMs,
    dialTimeoutMs: o.dialTimeoutMs,
    ...o.health,
  };
}

export interface CallOptions {
  /** For error messages: "put /registry/pods/ns/p". */
  what: string;
  /** This call's deadline (ms); default the client's callTimeoutMs. */
  timeoutMs?: number;
  /**
   * May the request be sent again to another endpoint after it may already
   * have reached etcd (a lost answer)? Default true (reads, idempotent writes).
   */
  idempotent?: boolean;
  /** Called before such a retry (a CAS re-validates its outcome). */
  onAmbiguousRetry?: () => void;
  /** Buffer for the answer's n bytes (confd's reader reuses one across calls). */
  alloc?: (n: number) => Buffer;
}

/** What an operator sees of one endpoint (docs/store.md: metrics). */
export interface EndpointHealth {
  endpoint: string;
  healthy: boolean;
  /** The endpoint calls go to now. */
  pinned: boolean;
  /** Times it was marked unhealthy since the client started (recoveries do not reset it). */
  failures: number;
  /** Why it was last marked unhealthy ("" never). */
  lastError: string;
}

export interface OpenStream {
  stream: ClientHttp2Stream;
  endpoint: string;
  /** The auth token sent (undefined without username): see tokenRejected(). */
  token: string | undefined;
  /** Called when the session is silent (keepalive): a watch asks etcd for a progress answer. */
  onSilence(fn: () => void): void;
}

const PING_MIN_INTERVAL_MS = 5500; // etcd's --grpc-keepalive-min-time is 5 s
/** Ping timeout when no other endpoint is healthy (nowhere to fail over to). */
const LONE_PING_TIMEOUT_MS = 10_000;
const TICK_MS = 250;

/** One endpoint: its session, its health. */
class Endpoint {
  session: Session | null = null;
  healthy = true;
  /** Times marked unhealthy (for metrics). */
  failures = 0;
  /** Failures since it was last healthy: the back-off step. */
  consecutive = 0;
  downUntil = 0;
  lastError = "";
  probe: NodeJS.Timeout | null = null;
  readonly host: string;
  constructor(readonly url: string) {
    this.host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  }
}

/**
 * One HTTP/2 session and its liveness (keepalive). etcd (grpc-go) answers a
 * client that pings more often than every 5 s with GOAWAY "too_many_pings"
 * unless it has sent data since the previous ping: so a silent session is
 * pinged when etcd sent data after the last ping's answer, or 5.5 s after
 * the last ping, with one extra ping allowed in between (etcd tolerates two
 * such "strikes"); watch streams are asked for a progress answer first,
 * which is such data.
 */
class Session {
  readonly createdAt = Date.now();
  connected = false;
  lastRx = Date.now();
  pingSentAt = 0;
  lastPingAt = 0;
  dataAfterAck = true;
  strikes = 0;
  lastNudge = 0;
  calls = 0;
  streams = 0;
  goaway = false;
  readonly nudgers = new Set<() => void>();
  constructor(readonly h2: ClientHttp2Session) {}
  rx(): void {
    this.lastRx = Date.now();
    this.dataAfterAck = true;
  }
  get usable(): boolean {
    return !this.goaway && !this.h2.destroyed && !this.h2.closed;
  }
}

export class EtcdClient {
  /** "etcd http://a:2379,http://b:2379", the prefix of every error message. */
  readonly description: string;
  readonly callTimeoutMs: number;
  /** Counters for metrics and tests. */
  readonly stats = {
    calls: 0,
    /** Attempts sent again to another endpoint. */
    retries: 0,
    /** Times the pinned endpoint changed because it failed. */
    failovers: 0,
    /** Sessions destroyed because a keepalive ping went unanswered. */
    keepaliveTimeouts: 0,
    /** Watches resumed on another session after theirs failed. */
    watchResumes: 0,
    authentications: 0,
  };
  private readonly eps: Endpoint[];
  private pinned = 0;
  private closed = false;
  private readonly tick: NodeJS.Timeout;
  private readonly ca?: Buffer;
  private readonly cert?: Buffer;
  private readonly key?: Buffer;
  private token: string | null = null;
  private tokenFetch: Promise<string> | null = null;
  private readonly dialTimeoutMs: number;
  private readonly silenceMs: number;
  private readonly pingTimeoutMs: number;
  private readonly backoff: BackoffPolicy;

  constructor(private readonly opts: EtcdClientOptions) {
    if (opts.endpoints.length === 0) throw new Error("etcd: no endpoints given");
    this.eps = opts.endpoints.map((e) => new Endpoint(e));
    this.description = `etcd ${opts.endpoints.join(",")}`;
    this.callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.dialTimeoutMs = opts.dialTimeoutMs ?? 3000;
    this.silenceMs = opts.silenceMs ?? 1000;
    this.pingTimeoutMs = opts.pingTimeoutMs ?? 1500;
    this.backoff = {
      initialMs: opts.backoffMs?.min ?? 1000,
      maxMs: opts.backoffMs?.max ?? 10_000,
    };
    this.ca = pem(opts.tls?.ca, "ca");
    this.cert = pem(opts.tls?.cert, "cert");
    this.key = pem(opts.tls?.key, "key");
    this.tick = setInterval(() => this.keepalive(), TICK_MS);
    this.tick.unref();
  }

  /** Health of every endpoint, in the configured order. */
  health(): EndpointHealth[] {
    return this.eps.map((ep, i) => ({
      endpoint: ep.url,
      healthy: ep.healthy,
      pinned: i === this.pinned,
      failures: ep.failures,
      lastError: ep.lastError,
    }));
  }

  /** One unary gRPC call: `message` to `path`; resolves with the answer's message bytes. */
  async call(path: string, message: Buffer, opts: CallOptions): Promise<Buffer> {
    this.stats.calls++;
    const timeoutMs = opts.timeoutMs ?? this.callTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const where = `${this.description}: ${opts.what}`;
    const tried = new Set<Endpoint>();
    let lastErr: Error | null = null;
    let reauthenticated = false;
    for (;;) {
      if (this.closed) throw unavailable(where, "client closed");
      const ep = this.pick(tried);
      if (ep === null) throw unavailable(where, lastErr?.message ?? "no endpoint", lastErr);
      tried.add(ep);
      if (lastErr !== null) this.stats.retries++;
      const token = path === AUTHENTICATE ? undefined : await this.authToken(deadline);
      const left = deadline - Date.now();
      if (left <= 0) throw unavailable(where, `no answer within ${timeoutMs} ms`, lastErr);
      try {
        const body = await this.attempt(ep, path, message, token, left, where, opts.alloc);
        this.markUp(ep);
        return body;
      } catch (err) {
        if (isInvalidToken(err) && !reauthenticated && token !== undefined) {
          reauthenticated = true;
          this.tokenRejected(token);
          tried.delete(ep);
          continue;
        }
        if (err instanceof DeadlineError) throw unavailable(where, err.message, lastErr ?? err);
        if (!(err instanceof EtcdTransportError || err instanceof StoreUnavailableError)) throw err;
        const maybeSent = !(err instanceof EtcdTransportError) || err.maybeSent;
        if (err instanceof EtcdTransportError || (err as RetriableStatus).markDown) {
          this.markDown(ep, err.message);
        }
        if (maybeSent && opts.idempotent === false) throw unavailable(where, err.message, err);
        if (maybeSent) opts.onAmbiguousRetry?.();
        lastErr = err;
      }
    }
  }

  /**
   * A long-lived gRPC stream (a watch) on a healthy endpoint not in
   * `tried` (which gets it added). The session is kept alive (ref'd) and
   * pinged while the stream is open. The stream requires a leader (etcd's
   * "hasleader" metadata, as Kubernetes' watches): a member cut off from
   * the others (it still answers pings) refuses it, or cancels it with
   * "no leader" after about three election timeouts, so the watch resumes
   * on a member of the majority instead of staying silent.
   */
  async openStream(path: string, tried: Set<string>, where: string): Promise<OpenStream> {
    if (this.closed) throw unavailable(where, "client closed");
    const ep = this.pick(new Set(this.eps.filter((e) => tried.has(e.url))));
    if (ep === null) throw unavailable(where, "every endpoint failed");
    tried.add(ep.url);
    const token = await this.authToken(Date.now() + this.callTimeoutMs);
    const headers = { ...grpcHeaders(path, token, undefined), hasleader: "true" };
    const { sess, stream } = this.request(ep, headers);
    sess.streams++;
    if (sess.streams === 1) sess.h2.ref(); // an open watch keeps the process alive
    stream.on("data", () => sess.rx());
    stream.on("response", () => sess.rx());
    const mine: (() => void)[] = [];
    stream.once("close", () => {
      sess.streams--;
      for (const fn of mine) sess.nudgers.delete(fn);
      if (sess.streams === 0 && !sess.h2.destroyed) sess.h2.unref();
    });
    return {
      stream,
      endpoint: ep.url,
      token,
      onSilence: (fn) => {
        mine.push(fn);
        sess.nudgers.add(fn);
      },
    };
  }

  /**
   * etcd called `token` invalid (expired, or unknown to that member: simple
   * tokens expire per member after --auth-token-ttl without use there): the
   * next call or stream authenticates again.
   */
  tokenRejected(token: string | undefined): void {
    if (token !== undefined && this.token === token) this.token = null;
  }

  /** A stream's endpoint failed (a gRPC UNAVAILABLE status on a watch): leave it out for a while. */
  reportFailure(endpoint: string, why: string): void {
    const ep = this.eps.find((e) => e.url === endpoint);
    if (ep) this.markDown(ep, why);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.tick);
    for (const ep of this.eps) {
      if (ep.probe) clearTimeout(ep.probe);
      ep.session?.h2.destroy();
      ep.session = null;
    }
  }

  // ---- endpoint choice and health -------------------------------------------------

  /**
   * The pinned endpoint if healthy and untried; else the next healthy
   * untried one (which becomes pinned); else the untried one that has been
   * down longest; null when every endpoint was tried.
   */
  private pick(tried: Set<Endpoint>): Endpoint | null {
    const n = this.eps.length;
    for (let i = 0; i < n; i++) {
      const idx = (this.pinned + i) % n;
      const ep = this.eps[idx]!;
      if (tried.has(ep) || !ep.healthy) continue;
      if (idx !== this.pinned) {
        this.pinned = idx;
        this.stats.failovers++;
      }
      return ep;
    }
    let best: Endpoint | null = null;
    for (const ep of this.eps) {
      if (!tried.has(ep) && (best === null || ep.downUntil < best.downUntil)) best = ep;
    }
    return best;
  }

  private markUp(ep: Endpoint): void {
    if (ep.healthy) return;
    ep.healthy = true;
    ep.consecutive = 0;
    if (ep.probe) clearTimeout(ep.probe);
    ep.probe = null;
  }

  private markDown(ep: Endpoint, why: string): void {
    ep.lastError = why;
    if (!ep.healthy) {
      this.kill(ep, why);
      return;
    }
    ep.healthy = false;
    ep.failures++;
    this.leaveOut(ep, why);
  }

  /** One more failure: kill the session, wait the back-off, then probe. */
  private leaveOut(ep: Endpoint, why: string): void {
    ep.consecutive++;
    const wait = backoffDelay(this.backoff, ep.consecutive - 1);
    ep.downUntil = Date.now() + wait;
    this.kill(ep, why);
    this.scheduleProbe(ep, wait);
  }

  private scheduleProbe(ep: Endpoint, wait: number): void {
    if (this.closed) return;
    if (ep.probe) clearTimeout(ep.probe);
    ep.probe = setTimeout(() => {
      ep.probe = null;
      void this.probe(ep);
    }, wait);
    ep.probe.unref();
  }

  /** Back-off over: connect and ping; healthy again on an answer, a longer back-off otherwise. */
  private async probe(ep: Endpoint): Promise<void> {
    if (this.closed || ep.healthy) return;
    let ok = false;
    try {
      ok = await this.answersPing(this.session(ep));
    } catch {
      ok = false;
    }
    if (this.closed || ep.healthy) return;
    if (ok) {
      this.markUp(ep);
      return;
    }
    this.leaveOut(ep, ep.lastError);
  }

  /** Does the session connect within the dial timeout and answer a PING within the ping timeout? */
  private answersPing(sess: Session): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const h2 = sess.h2;
      let timer: NodeJS.Timeout;
      const done = (ok: boolean) => {
        clearTimeout(timer);
        h2.off("connect", ping);
        h2.off("close", failed);
        resolve(ok);
      };
      const failed = () => done(false);
      const ping = () => {
        clearTimeout(timer);
        timer = setTimeout(failed, this.pingTimeoutMs);
        timer.unref();
        try {
          if (!h2.ping((err) => done(!err))) done(false);
        } catch {
          done(false);
        }
      };
      h2.once("close", failed);
      if (sess.connected) ping();
      else {
        timer = setTimeout(failed, this.dialTimeoutMs);
        timer.unref();
        h2.once("connect", ping);
      }
    });
  }

  /** Destroy an endpoint's session: its calls fail (and are retried elsewhere), its watches resume. */
  private kill(ep: Endpoint, why: string): void {
    const sess = ep.session;
    ep.session = null;
    if (sess && !sess.h2.destroyed) {
      sess.h2.destroy(new EtcdTransportError(ep.url, why, true));
    }
  }

  /** Keepalive: every TICK_MS, each busy session that is silent is pinged (see Session). */
  private keepalive(): void {
    const now = Date.now();
    for (const ep of this.eps) {
      const sess = ep.session;
      if (!sess || (sess.calls === 0 && sess.streams === 0) || sess.h2.destroyed) continue;
      if (!sess.connected && now - sess.createdAt > this.dialTimeoutMs) {
        this.markDown(ep, `not connected within ${this.dialTimeoutMs} ms`);
        continue;
      }
      if (sess.pingSentAt > 0) {
        // Giving up a session only helps when another endpoint can take its
        // work; alone (one endpoint, or the others down) an overloaded etcd
        // that answers late keeps its calls (they have their deadlines).
        const limit = this.alternativeTo(ep) ? this.pingTimeoutMs : LONE_PING_TIMEOUT_MS;
        if (now - sess.pingSentAt > limit) {
          this.stats.keepaliveTimeouts++;
          this.markDown(ep, `keepalive ping not answered within ${limit} ms`);
        }
        continue;
      }
      if (now - sess.lastRx < this.silenceMs) continue;
      this.ping(sess, now);
      if (sess.nudgers.size > 0 && now - sess.lastNudge >= this.silenceMs) {
        sess.lastNudge = now;
        for (const nudge of sess.nudgers) nudge();
      }
    }
  }

  /** Is another endpoint healthy? */
  private alternativeTo(ep: Endpoint): boolean {
    return this.eps.some((e) => e !== ep && e.healthy);
  }

  private ping(sess: Session, now: number): void {
    const spaced = now - sess.lastPingAt >= PING_MIN_INTERVAL_MS;
    if (!sess.dataAfterAck && !spaced && sess.strikes >= 1) return;
    if (sess.dataAfterAck) sess.strikes = 0;
    else if (!spaced) sess.strikes++;
    sess.pingSentAt = now;
    sess.lastPingAt = now;
    sess.dataAfterAck = false;
    try {
      sess.h2.ping((err) => {
        if (err) return; // the session is going away; its streams report it
        sess.pingSentAt = 0;
        sess.lastRx = Date.now();
        sess.dataAfterAck = false; // only data etcd queues after this answer resets its count
      });
    } catch {
      // destroyed meanwhile: the next tick skips it
    }
  }

  // ---- sessions and calls ------------------------------------------------------------

  private session(ep: Endpoint): Session {
    const cur = ep.session;
    if (cur?.usable) return cur;
    const h2 = connect(ep.url, {
      // No SNI for an IP address (RFC 6066); the certificate is still checked.
      servername: isIP(ep.host) ? "" : ep.host,
      ca: this.ca,
      cert: this.cert,
      key: this.key,
      // confd's -client-insecure: the operator chose to trust any certificate
      rejectUnauthorized: this.opts.tls?.insecure !== true,
      // A 40 MB listing in 64 KB flow-control windows costs round trips.
      settings: { initialWindowSize: 16 << 20 },
    });
    const sess = new Session(h2);
    h2.on("connect", () => {
      sess.connected = true;
      sess.rx();
      // The session may have been destroyed before it connected: never throw here.
      if (!h2.destroyed && !h2.closed) {
        try {
          h2.setLocalWindowSize(32 << 20);
        } catch {
          // closing: its streams report why
        }
      }
    });
    h2.on("error", () => {}); // reported through the streams
    h2.on("goaway", () => {
      sess.goaway = true;
      if (ep.session === sess) ep.session = null;
    });
    h2.on("close", () => {
      if (ep.session === sess) ep.session = null;
    });
    h2.unref();
    ep.session = sess;
    return sess;
  }

  /** A gRPC request on the endpoint's session; a failure to send is an EtcdTransportError (never sent). */
  private request(
    ep: Endpoint,
    headers: OutgoingHttpHeaders,
  ): { sess: Session; stream: ClientHttp2Stream } {
    try {
      const sess = this.session(ep);
      return { sess, stream: sess.h2.request(headers) };
    } catch (err) {
      throw new EtcdTransportError(ep.url, (err as Error).message, false, { cause: err });
    }
  }

  /** One attempt of a unary call on one endpoint. */
  private attempt(
    ep: Endpoint,
    path: string,
    message: Buffer,
    token: string | undefined,
    timeoutMs: number,
    where: string,
    alloc: (n: number) => Buffer = Buffer.allocUnsafe,
  ): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let sess: Session;
      let req: ClientHttp2Stream;
      try {
        ({ sess, stream: req } = this.request(ep, grpcHeaders(path, token, timeoutMs)));
      } catch (err) {
        reject(err);
        return;
      }
      sess.calls++;
      let done = false;
      const finish = (err: Error | null, body?: Buffer) => {
        if (done) return;
        done = true;
        sess.calls--;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(body!);
      };
      const timer = setTimeout(() => {
        if (!req.destroyed) req.close(constants.NGHTTP2_CANCEL);
        finish(new DeadlineError(`no answer within ${timeoutMs} ms from ${ep.url}`));
      }, timeoutMs);
      let status: GrpcStatus | null = null;
      const takeStatus = (h: IncomingHttpHeaders) => {
        sess.rx();
        status = grpcStatusOf(h) ?? status;
      };
      const body = new BodyReader(alloc);
      req.on("response", takeStatus);
      req.on("trailers", takeStatus);
      req.on("data", (d: Buffer) => {
        sess.rx();
        body.push(d);
      });
      req.on("error", (err) => {
        const refused = req.rstCode === constants.NGHTTP2_REFUSED_STREAM;
        finish(new EtcdTransportError(ep.url, err.message, !refused, { cause: err }));
      });
      req.on("close", () => {
        const st = status as GrpcStatus | null;
        if (st === null) {
          const refused = req.rstCode === constants.NGHTTP2_REFUSED_STREAM;
          finish(new EtcdTransportError(ep.url, "stream closed without a gRPC status", !refused));
        } else if (st.code !== 0) {
          const err = statusError(st.code, st.message, where, ep.url);
          if (err instanceof StoreUnavailableError && st.code === GRPC.UNAVAILABLE) {
            (err as RetriableStatus).markDown = true; // no leader, member stopping: try another
          }
          finish(err);
        } else {
          const msg = body.message();
          if (msg === null)
            finish(
              new EtcdProtocolError(`${where}: malformed or compressed gRPC answer from ${ep.url}`),
            );
          else finish(null, msg);
        }
      });
      req.end(grpcFrame(message));
    });
  }

  /** The auth token (fetched once, shared by concurrent callers); undefined without username. */
  private async authToken(deadline: number): Promise<string | undefined> {
    if (this.opts.username === undefined) return undefined;
    if (this.token !== null) return this.token;
    this.tokenFetch ??= this.call(
      AUTHENTICATE,
      encodeAuthenticateRequest(this.opts.username, this.opts.password ?? ""),
      { what: "authenticate", timeoutMs: Math.max(1, deadline - Date.now()) },
    )
      .then((body) => {
        this.stats.authentications++;
        this.token = decodeAuthenticateResponse(body);
        return this.token;
      })
      .finally(() => {
        this.tokenFetch = null;
      });
    return this.tokenFetch;
  }
}

const AUTHENTICATE = "/etcdserverpb.Auth/Authenticate";

/** The call's own deadline passed (not the endpoint's fault: not retried, endpoint stays healthy). */
class DeadlineError extends Error {
  override name = "DeadlineError";
}

type RetriableStatus = StoreUnavailableError & { markDown?: boolean };

function grpcHeaders(path: string, token: string | undefined, timeoutMs: number | undefined) {
  const h: OutgoingHttpHeaders = {
    [constants.HTTP2_HEADER_METHOD]: "POST",
    [constants.HTTP2_HEADER_PATH]: path,
    "content-type": "application/grpc",
    te: "trailers",
  };
  if (timeoutMs !== undefined) h["grpc-timeout"] = `${Math.max(1, Math.ceil(timeoutMs))}m`;
  if (token !== undefined) h.token = token;
  return h;
}

/**
 * The one gRPC message of a unary answer, copied once as it arrives into a
 * buffer sized by its length prefix (from `alloc`). null: malformed,
 * compressed, truncated, or a second message.
 */
class BodyReader {
  private readonly prefix = Buffer.alloc(5);
  private prefixLen = 0;
  private body: Buffer | null = null;
  private len = 0;
  private got = 0;
  private bad = false;
  constructor(private readonly alloc: (n: number) => Buffer) {}
  push(d: Buffer): void {
    if (this.bad) return;
    let off = 0;
    if (this.prefixLen < 5) {
      const n = Math.min(5 - this.prefixLen, d.length);
      d.copy(this.prefix, this.prefixLen, 0, n);
      this.prefixLen += n;
      off = n;
      if (this.prefixLen < 5) return;
      if (this.prefix[0] !== 0) {
        this.bad = true;
        return;
      }
      this.len = this.prefix.readUInt32BE(1);
      this.body = this.alloc(this.len);
    }
    const n = Math.min(d.length - off, this.len - this.got);
    d.copy(this.body!, this.got, off, off + n);
    this.got += n;
    if (off + n < d.length) this.bad = true;
  }
  message(): Buffer | null {
    if (this.bad || this.prefixLen < 5 || this.body === null || this.got < this.len) return null;
    return this.body.length === this.len ? this.body : this.body.subarray(0, this.len);
  }
}
