// An etcd v3 watch over the client's HTTP/2 sessions (client.ts), decoded
// by codec.ts straight from the gRPC frames.
//
// EtcdWatch is what the store hands out: one logical watch that survives
// the loss of an endpoint. When its stream fails for a reason that is the
// endpoint's (session destroyed by the keepalive, connection reset, gRPC
// UNAVAILABLE, stream ended), it is opened again on another endpoint from
// the revision after the last one delivered: no event lost, none twice
// (etcd sends every event at or after the start revision, and batches below
// it are dropped anyway). It ends through onError only when no endpoint can
// take it (StoreUnavailableError), when the revision was compacted
// (CompactedError: re-list), or on another error.
//
// Why hand-written: a pod watch sees every annotation write; through
// grpc-js and protobufjs each event cost several objects and copies of the
// 3-5 KB pod before the store's own conversion.

import { type ClientHttp2Stream, constants } from "node:http2";
import { StoreUnavailableError, type WatchEvent, type WatchHandlers } from "../store.js";
import type { EtcdClient } from "./client.js";
import {
  decodeWatchResponse,
  encodeWatchCreate,
  grpcFrame,
  WATCH_PROGRESS_REQUEST,
  type WatchResponse,
  type WatchSpec,
} from "./codec.js";
import {
  EtcdProtocolError,
  EtcdStatusError,
  EtcdTransportError,
  GRPC,
  type GrpcStatus,
  grpcStatusOf,
  isInvalidToken,
  statusError,
} from "./errors.js";
import { WatchLifecycle } from "./watch-lifecycle.js";

const WATCH_PATH = "/etcdserverpb.Watch/Watch";
/** Pause before trying every endpoint again when they had no leader (EtcdWatch.open). */
const NO_LEADER_PAUSE_MS = 250;
/** etcd's ErrGRPCNoLeader, gRPC UNAVAILABLE. */
const NO_LEADER = /etcdserver: no leader/;
/** etcd 3.4: "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token". */
const INVALID_TOKEN = /invalid auth token/;

/** One logical watch, resumed on another endpoint when its stream's endpoint fails. */
export class EtcdWatch {
  private current: StreamWatch | null = null;
  private stopped = false;
  /** The revision the next stream starts at (0: from now, until the first is created). */
  private nextRevision: number;
  /** Called once when the watch ends (closed or failed for good). */
  onEnd: () => void = () => {};

  constructor(
    private readonly client: EtcdClient,
    private readonly spec: WatchSpec,
    private readonly handlers: WatchHandlers,
    private readonly where: string,
    private readonly timeoutMs: number,
  ) {
    this.nextRevision = spec.startRevision;
  }

  /** Open the first stream; rejects when no endpoint takes it. */
  async start(): Promise<void> {
    await this.open(new Set());
  }

  readonly stop = (): void => {
    if (this.stopped) return;
    this.stopped = true;
    this.current?.stop();
    this.current = null;
    this.onEnd();
  };

  /**
   * Try the endpoints (healthy first) until one confirms the watch. When
   * every one failed and one of them said "no leader" (see
   * EtcdClient.openStream: the members are electing one, or this one is
   * cut off), start over after a pause until `timeoutMs` has passed.
   * Endpoints that are down end the watch at once.
   */
  private async open(tried: Set<string>): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let reauthenticated = false;
    let noLeader = false;
    for (;;) {
      if (this.stopped) return;
      const spec = { ...this.spec, startRevision: this.nextRevision };
      let w: StreamWatch | null = null;
      let endpoint = "";
      let token: string | undefined;
      try {
        const open = await this.client.openStream(WATCH_PATH, tried, this.where);
        endpoint = open.endpoint;
        token = open.token;
        w = new StreamWatch(open.stream, spec, this.streamHandlers(endpoint), this.where, endpoint);
        const sw = w;
        this.current = sw;
        await withDeadline(
          sw.created,
          this.timeoutMs,
          `${this.where}: not created within ${this.timeoutMs} ms on ${endpoint}`,
        );
        if (this.nextRevision === 0) this.nextRevision = sw.createdRevision + 1;
        open.onSilence(() => sw.requestProgress());
        if (this.stopped) sw.stop();
        return;
      } catch (err) {
        w?.stop();
        if (this.current === w) this.current = null;
        if (isInvalidToken(err) && !reauthenticated) {
          reauthenticated = true;
          this.client.tokenRejected(token);
          tried.delete(endpoint);
          continue;
        }
        if (err instanceof EtcdTransportError) {
          this.client.reportFailure(err.endpoint, err.message);
          continue;
        }
        if (!(err instanceof StoreUnavailableError)) throw err;
        if (endpoint === "") {
          // openStream: every endpoint was tried
          if (!noLeader || Date.now() + NO_LEADER_PAUSE_MS >= deadline) throw err;
          await new Promise((r) => setTimeout(r, NO_LEADER_PAUSE_MS));
          tried.clear();
          noLeader = false;
          continue;
        }
        if (NO_LEADER.test(err.message)) noLeader = true;
        this.client.reportFailure(endpoint, err.message);
      }
    }
  }

  private streamHandlers(endpoint: string): WatchHandlers {
    return {
      onEvents: (events, revision) => {
        if (revision < this.nextRevision) return; // delivered before a resume
        this.nextRevision = revision + 1;
        this.handlers.onEvents(events, revision);
      },
      onError: (err) => {
        if (this.stopped) return;
        this.current = null;
        if (!(err instanceof StoreUnavailableError)) return this.fail(err);
        this.client.reportFailure(endpoint, err.message);
        this.client.stats.watchResumes++;
        this.open(new Set()).catch((e: unknown) => this.fail(e as Error));
      },
    };
  }

  private fail(err: Error): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.onError(err);
  }
}

/** One watch stream: created handshake, revision batches, and how it ends. */
class StreamWatch extends WatchLifecycle {
  /** The store revision when etcd created the watch (a watch "from now" starts after it). */
  createdRevision = 0;
  /** Bytes received but not yet a whole gRPC message: in `chunks`, `have` bytes of `need`. */
  private pending: Buffer | null = null;
  private chunks: Buffer[] = [];
  private have = 0;
  private need = 0;
  private status: GrpcStatus | null = null;

  constructor(
    private readonly stream: ClientHttp2Stream,
    spec: WatchSpec,
    handlers: WatchHandlers,
    where: string,
    private readonly endpoint: string,
  ) {
    super(handlers, where);
    const takeStatus = (h: Record<string, unknown>) => {
      this.status = grpcStatusOf(h) ?? this.status;
    };
    stream.on("response", takeStatus);
    stream.on("trailers", takeStatus);
    stream.on("data", (d: Buffer) => this.onData(d));
    stream.on("error", (err) =>
      this.fail(new StoreUnavailableError(`${where}: ${endpoint}: ${err.message}`, { cause: err })),
    );
    stream.on("close", () => this.fail(this.closeError()));
    this.write(encodeWatchCreate(spec));
  }

  /** Ask etcd for a progress answer (header only): proof of life that lets the session be pinged. */
  requestProgress(): void {
    if (!this.ended) this.write(WATCH_PROGRESS_REQUEST);
  }

  private write(msg: Buffer): void {
    if (this.stream.destroyed || !this.stream.writable) return;
    this.stream.write(grpcFrame(msg));
  }

  private closeError(): Error {
    if (this.status === null || this.status.code === 0) {
      return new StoreUnavailableError(`${this.where}: ${this.endpoint}: stream ended`);
    }
    // UNAVAILABLE ("no leader") and the like become StoreUnavailableError: resumed elsewhere.
    return statusError(this.status.code, this.status.message, this.where, this.endpoint);
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
        this.fail(
          new EtcdProtocolError(`${this.where}: compressed gRPC message from ${this.endpoint}`),
        );
        return;
      }
      let res: WatchResponse;
      try {
        res = decodeWatchResponse(buf.subarray(5, 5 + len));
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      buf = buf.subarray(5 + len);
      if (res.canceled && INVALID_TOKEN.test(res.cancelReason)) {
        // etcd checks the token when it creates the watch and answers an
        // expired one with "created, canceled: invalid auth token": the
        // watch is opened again with a new token (EtcdWatch.open).
        this.fail(
          new EtcdStatusError(
            GRPC.UNAUTHENTICATED,
            res.cancelReason,
            `${this.where}: ${res.cancelReason} (watch refused by ${this.endpoint})`,
          ),
        );
        return;
      }
      if (res.created) this.createdRevision = res.revision;
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

/** Reject with StoreUnavailableError when `p` takes longer than `ms`. */
function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
