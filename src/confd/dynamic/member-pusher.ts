// Pushes dynamic upstreams' member lists to nginx's Lua endpoint
// (domeos_balancer.lua) and keeps checking that nginx still has exactly
// what was pushed: a restarted nginx (new boot id, empty dict), a list
// changed by someone else (another generation) or an endpoint that stopped
// answering makes the state stale, and the next sync re-pushes every list
// in full. nginx never keeps an empty or stale list silently: status()
// (in /healthz) and the metrics say which.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import type { Logger } from "../log/logger.js";
import { phase } from "../log/phase-trace.js";
import type { DynamicEndpointsConfig } from "./dynamic-config.js";

export type SyncState = "pending" | "in-sync" | "stale" | "unreachable";

export interface DynamicStatus {
  endpoint: string;
  state: SyncState;
  /** Why the state is not in-sync (or why the last re-push happened). */
  reason?: string;
  boot?: string;
  /** Store revision of the last complete push (nginx routes by it). */
  pushedRevision?: number;
  lastPushAt?: number;
  lastPushError?: string;
  lastVerifyAt?: number;
  upstreams: { name: string; members: number; generation: number }[];
}

interface Acked {
  members: string; // the body pushed
  count: number;
  boot: string;
  generation: number;
}

export interface SyncResult {
  ok: boolean;
  /** Upstreams whose list was sent (changed, or stale in nginx). */
  pushed: string[];
  error?: string;
}

export interface PusherEvents {
  /** nginx no longer has what was pushed: sync again. */
  onStale: (reason: string) => void;
  onPush?: (upstream: string, result: "ok" | "failed", members: number) => void;
  onRepush?: (reason: string) => void;
}

const TIMEOUT_MS = 5000;

export class MemberPusher {
  /** Who pushes: the Lua side refuses an older seq of the same pusher. */
  private readonly pusher = `confd-${process.pid}-${randomBytes(4).toString("hex")}`;
  private seq = 0;
  private readonly acked = new Map<string, Acked>();
  private state: SyncState = "pending";
  private reason: string | undefined;
  private boot: string | undefined;
  private pushedRevision: number | undefined;
  private lastPushAt: number | undefined;
  private lastPushError: string | undefined;
  private lastVerifyAt: number | undefined;
  /** Bumped by every push: a verify that overlapped one is not judged. */
  private pushEpoch = 0;
  private syncing = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cfg: DynamicEndpointsConfig,
    private readonly log: Logger,
    private readonly events: PusherEvents,
  ) {}

  /** Start checking nginx's lists every verify_interval. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.verify(), this.cfg.verifyIntervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  inSync(): boolean {
    return this.state === "in-sync";
  }

  status(): DynamicStatus {
    return {
      endpoint: this.cfg.socketPath ? `unix:${this.cfg.socketPath}` : this.cfg.url,
      state: this.state,
      reason: this.reason,
      boot: this.boot,
      pushedRevision: this.pushedRevision,
      lastPushAt: this.lastPushAt,
      lastPushError: this.lastPushError,
      lastVerifyAt: this.lastVerifyAt,
      upstreams: [...this.acked].map(([name, a]) => ({
        name,
        members: a.count,
        generation: a.generation,
      })),
    };
  }

  /**
   * Make nginx's lists equal `lists`: push each one that differs from what
   * nginx acknowledged (all of them after a restart or an outage).
   */
  async sync(lists: Map<string, string[]>, revision: number | undefined): Promise<SyncResult> {
    this.syncing = true;
    const pushed: string[] = [];
    try {
      for (const [name, members] of lists) {
        const body = members.join("\n");
        const a = this.acked.get(name);
        if (a && a.members === body) continue;
        this.pushEpoch++;
        const err = await this.pushOne(name, body, members.length, revision);
        if (err) {
          this.lastPushError = `${name}: ${err}`;
          this.state = this.state === "in-sync" || this.state === "pending" ? "stale" : this.state;
          this.reason = `push failed: ${this.lastPushError}`;
          this.events.onPush?.(name, "failed", members.length);
          return { ok: false, pushed, error: this.lastPushError };
        }
        this.events.onPush?.(name, "ok", members.length);
        pushed.push(name);
      }
      if (pushed.length > 0) this.lastPushAt = Date.now();
      this.lastPushError = undefined;
      this.state = "in-sync";
      this.reason = undefined;
      if (revision !== undefined) this.pushedRevision = revision;
      return { ok: true, pushed };
    } finally {
      this.syncing = false;
    }
  }

  private async pushOne(
    name: string,
    body: string,
    count: number,
    revision: number | undefined,
  ): Promise<string | null> {
    let secret: string;
    try {
      secret = readFileSync(this.cfg.secretFile, "utf8").trim();
    } catch (err) {
      return `cannot read secret_file ${this.cfg.secretFile}: ${(err as Error).message}`;
    }
    const headers: Record<string, string> = {
      "content-type": "text/plain",
      "x-domeos-secret": secret,
      "x-domeos-pusher": this.pusher,
      "x-domeos-seq": String(++this.seq),
    };
    if (revision !== undefined) headers["x-domeos-revision"] = String(revision);
    let res: { status: number; body: string };
    try {
      phase("push sent");
      res = await this.http("POST", `/${name}`, headers, body);
      phase("push answered");
    } catch (err) {
      return `endpoint unreachable: ${(err as Error).message}`;
    }
    if (res.status !== 200) return `HTTP ${res.status}: ${res.body.trim().slice(0, 300)}`;
    let ack: { boot?: string; generation?: number; applied?: number; refused?: unknown[] };
    try {
      ack = JSON.parse(res.body);
    } catch {
      return `unexpected answer: ${res.body.slice(0, 200)}`;
    }
    if (typeof ack.boot !== "string" || typeof ack.generation !== "number")
      return `unexpected answer: ${res.body.slice(0, 200)}`;
    // confd checked every member: a refusal here means the two checks disagree
    if (Array.isArray(ack.refused) && ack.refused.length > 0)
      this.log(
        "error",
        `dynamic endpoints: nginx refused members of ${name}: ${JSON.stringify(ack.refused)}`,
      );
    this.boot = ack.boot;
    this.acked.set(name, {
      members: body,
      count: ack.applied ?? count,
      boot: ack.boot,
      generation: ack.generation,
    });
    return null;
  }

  /** Does nginx still have what was acknowledged? */
  async verify(): Promise<void> {
    // nothing acknowledged to check, unless the endpoint was lost: then keep
    // probing, so the lists go back the moment it answers (not after the
    // runner's backoff, which grows with every failed push)
    if (this.syncing || (this.acked.size === 0 && this.state !== "unreachable")) return;
    const epoch = this.pushEpoch;
    let state: { boot: string; upstreams: { upstream: string; generation: number }[] };
    try {
      const res = await this.http("GET", "", {}, undefined);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      state = JSON.parse(res.body);
    } catch (err) {
      if (epoch !== this.pushEpoch || this.syncing) return;
      this.lastVerifyAt = Date.now();
      if (this.state !== "unreachable") {
        const reason = `endpoint unreachable: ${(err as Error).message}`;
        this.log(
          "error",
          `dynamic endpoints: ${reason}; every list is pushed again once it answers`,
        );
        this.markStale("unreachable", reason, "unreachable");
      } else {
        this.events.onStale(this.reason ?? "unreachable");
      }
      return;
    }
    if (epoch !== this.pushEpoch || this.syncing) return;
    this.lastVerifyAt = Date.now();
    const gens = new Map(state.upstreams.map((u) => [u.upstream, u.generation]));
    for (const [name, a] of this.acked) {
      let why: string | undefined;
      let kind = "changed_elsewhere";
      if (state.boot !== a.boot) {
        why = `nginx restarted (boot id ${a.boot} -> ${state.boot}): its lists are empty`;
        kind = "nginx_restarted";
      } else if (gens.get(name) !== a.generation)
        why = `${name} is at generation ${gens.get(name) ?? "none"} in nginx, ${a.generation} was pushed (another pusher?)`;
      if (why) {
        this.log("warning", `dynamic endpoints: ${why}; pushing every list again`);
        this.markStale("stale", why, kind);
        return;
      }
    }
    if (this.state === "unreachable") {
      // answers again before the runner's retry pushed: push in full now (counted when it was lost)
      this.markStale("stale", "endpoint answers again after an outage");
    }
  }

  /** nginx may not hold what was acknowledged: forget it, so the next sync pushes every list. */
  private markStale(state: SyncState, reason: string, kind?: string): void {
    this.state = state;
    this.reason = reason;
    this.acked.clear();
    if (kind) this.events.onRepush?.(kind);
    this.events.onStale(reason);
  }

  private http(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<{ status: number; body: string }> {
    const url = new URL(this.cfg.url + path);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          method,
          socketPath: this.cfg.socketPath,
          host: this.cfg.socketPath ? undefined : url.hostname.replace(/^\[|\]$/g, ""),
          port: this.cfg.socketPath ? undefined : url.port || 80,
          path: url.pathname,
          headers:
            body === undefined
              ? headers
              : { ...headers, "content-length": Buffer.byteLength(body) },
          timeout: TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }
}
