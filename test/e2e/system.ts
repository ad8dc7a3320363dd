// The whole system for end-to-end tests: the standalone server (real pods
// through bin/domeize), bin/domeos-confd rendering the seed's upstream
// template, and a real nginx in front, on the embedded store or real etcd.
// `dynamic: true`: nginx with the Lua balancer, confd pushing the members
// (docs/nginx-dynamic.md) instead of reloading for each pod change.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoConfd } from "../../src/main/demo-confd.js";
import { DemoNginx, UPSTREAM_NAME } from "../../src/main/demo-nginx.js";
import { repoRoot } from "../../src/main/repo-root.js";
import {
  type Standalone,
  type StandaloneOptions,
  startStandalone,
} from "../../src/main/standalone-server.js";
import type { PodObject } from "../../src/runtime/pod-object.js";
import type { RolloutStatus } from "../../src/server/deploy/rollout-types.js";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { EtcdStore } from "../../src/store/etcd.js";
import type { Store } from "../../src/store/store.js";
import { EtcdServer } from "../support/etcd.js";
import { freePort } from "../support/ports.js";

export const DEPLOYMENT = "img-host-test"; // what the seed's template selects
export const PORT_RANGE = { min: 24000, max: 24499 };
const DEMO_APP = join(repoRoot(), "examples", "demo-app");
/** The demo's config.json template (the replica's name and port), as a deployment's `templates` entry. */
const DEMO_CONFIG = `${join(DEMO_APP, "config.json.tmpl")}:config.json`;

/**
 * A test app that logs every request and its SIGTERM, in arrival order, to
 * $EVENTS_DIR/<pod>.log, and keeps serving for 700 ms after its SIGTERM (as
 * apps finishing their work do), so a request routed to it after its SIGTERM
 * would be seen.
 */
const EVENT_LOG_APP = `const fs = require("node:fs");
const cfg = JSON.parse(fs.readFileSync("config.json", "utf8"));
const log = require("node:path").join(process.env.EVENTS_DIR, cfg.name + ".log");
const srv = require("node:http").createServer((q, s) => {
  fs.appendFileSync(log, "req\\n");
  q.resume();
  q.on("end", () => s.end(JSON.stringify({ replica: cfg.name, port: cfg.port, pid: process.pid })));
});
srv.keepAliveTimeout = 30000;
srv.listen(cfg.port, "127.0.0.1");
process.on("SIGTERM", () => {
  fs.appendFileSync(log, "term\\n");
  setTimeout(() => process.exit(0), 700);
});
`;

/** The sum of the /metrics samples of `name` whose labels hold `match`, from the confd whose /healthz is `healthUrl`. */
export async function confdMetric(healthUrl: string, name: string, match = ""): Promise<number> {
  const text = await (await fetch(healthUrl.replace("/healthz", "/metrics"))).text();
  return text
    .split("\n")
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(match))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

export interface Reply {
  replica: string;
  port: number;
  pid: number;
}

export class System {
  readonly dir = mkdtempSync(join(tmpdir(), "e2e-"));
  readonly dataDir = join(this.dir, "data");
  etcd: EtcdServer | null = null;
  /** etcd: the store the server uses. Embedded: null (the server opens its own). */
  store: Store | null = null;
  /** A separate handle for the test's own reads (survives server restarts). */
  reader: Store | null = null;
  sa: Standalone | null = null;
  nginx: DemoNginx | null = null;
  confd: DemoConfd | null = null;

  /** confd's -metrics-addr port: its /healthz confirms drains (docs/standalone.md). */
  private confdMetricsPort = 0;

  constructor(
    readonly kind: "embedded" | "etcd",
    /** Runtime options the system's server gets (the bench's drain settings). */
    readonly serverOptions: Partial<StandaloneOptions> = {},
    readonly opts: { dynamic?: boolean } = {},
  ) {}

  get confdHealthUrl(): string {
    return `http://127.0.0.1:${this.confdMetricsPort}/healthz`;
  }

  async start(): Promise<void> {
    if (this.kind === "etcd") {
      this.etcd = new EtcdServer(join(this.dir, "etcd"));
      await this.etcd.start();
      this.store = new EtcdStore({ endpoints: [this.etcd.endpoint] });
    }
    this.confdMetricsPort = await freePort();
    await this.startServer();
    this.reader = this.store ?? new EmbeddedStore(join(this.dataDir, "store"), { pollMs: 50 });
    const dynamic = this.opts.dynamic ? { membersPort: await freePort() } : undefined;
    this.nginx = new DemoNginx(join(this.dir, "nginx"), await freePort(), dynamic);
    this.nginx.configure();
    await this.nginx.start();
    this.confd = new DemoConfd({
      confdir: join(this.dir, "confd"),
      backend: this.kind === "etcd" ? "etcdv3" : "embedded",
      node: this.kind === "etcd" ? this.etcd!.endpoint : this.dataDir,
      dest: this.nginx.upstreamPath,
      checkCmd: this.nginx.checkCmd(),
      reloadCmd: this.nginx.reloadCmd(),
      metricsPort: this.confdMetricsPort,
      logPath: join(this.dir, "confd.log"),
      dynamic: dynamic && { endpoint: this.nginx.membersUrl, secretFile: this.nginx.secretFile },
    });
    this.confd.writeConfig();
    this.confd.start();
  }

  async startServer(): Promise<void> {
    this.sa = await startStandalone({
      dataDir: this.dataDir,
      listen: "127.0.0.1:0",
      store: this.store ?? undefined,
      portRange: PORT_RANGE,
      backoff: { initialMs: 200, maxMs: 2000, factor: 2, resetAfterMs: 10_000 },
      drain: { confirmUrls: [this.confdHealthUrl], delayMs: 1500 },
      graceMs: 3000,
      ...this.serverOptions,
    });
  }

  async stopServer(): Promise<void> {
    await this.sa?.close();
    this.sa = null;
  }

  async destroy(): Promise<void> {
    await this.confd?.stop();
    await this.nginx?.stop();
    await this.stopServer();
    if (this.reader !== this.store) await this.reader?.close();
    await this.store?.close();
    await this.etcd?.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async api(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; msg: string }> {
    const res = await fetch(`${this.sa!.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.sa!.adminToken}`,
        "content-type": "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = (await res.json()) as { resultMsg: string };
    return { status: res.status, msg: j.resultMsg };
  }

  /** confdMetric() of this system's confd. */
  confdMetric(name: string, match = ""): Promise<number> {
    return confdMetric(this.confdHealthUrl, name, match);
  }

  /** Poll the deployment's rollout until it is Complete (120 s; Failed: thrown with its reason). */
  async rolloutComplete(): Promise<RolloutStatus> {
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      const res = await fetch(`${this.sa!.url}/api/deployments/default/${DEPLOYMENT}/rollout`, {
        headers: { authorization: `Bearer ${this.sa!.adminToken}` },
      });
      const s = ((await res.json()) as { result: RolloutStatus }).result;
      if (s.phase === "Failed") throw new Error(`rollout failed: ${s.reason}`);
      if (s.phase === "Complete") return s;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("rollout not complete within 120 s");
  }

  demoDeployment(replicas: number, ports = 2): Record<string, unknown> {
    return {
      name: DEPLOYMENT,
      command: ["node", join(DEMO_APP, "server.mjs"), "config.json"],
      replicas,
      networkMode: "HOST",
      ports,
      templates: [DEMO_CONFIG],
      accessType: "DIY",
    };
  }

  /**
   * A deployment of a test's own app: `source` (CommonJS, reading the demo's
   * config.json: its replica name and port) written to the system's dir, one
   * port a replica, `env` its environment.
   */
  scriptDeployment(
    source: string,
    replicas: number,
    env: Record<string, string>,
  ): Record<string, unknown> {
    const script = join(this.dir, "app.cjs");
    writeFileSync(script, source);
    return {
      name: DEPLOYMENT,
      command: ["node", script],
      replicas,
      ports: 1,
      templates: [DEMO_CONFIG],
      env,
    };
  }

  /** A deployment of the app that logs each request and its SIGTERM (read them with eventLog()). */
  eventLogDeployment(replicas: number): Record<string, unknown> {
    const events = join(this.dir, "events");
    mkdirSync(events, { recursive: true });
    return this.scriptDeployment(EVENT_LOG_APP, replicas, { EVENTS_DIR: events });
  }

  /** What eventLogDeployment()'s replica `pod` logged ("req", "term"), in order; null: nothing. */
  eventLog(pod: string): string[] | null {
    const file = join(this.dir, "events", `${pod}.log`);
    return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : null;
  }

  async pods(): Promise<PodObject[]> {
    const res = await this.reader!.list("/registry/pods/default/");
    return res.kvs.map((kv) => JSON.parse(kv.value) as PodObject);
  }

  confdLog(lines = 15): string {
    try {
      return readFileSync(join(this.dir, "confd.log"), "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(none)";
    }
  }

  /** nginx's error.log, last lines (why a proxied request failed, which upstream). */
  nginxErrors(): string {
    try {
      const log = join(this.nginx!.prefix, "logs", "error.log");
      const lines = readFileSync(log, "utf8").trim().split("\n");
      if (lines.length <= 30) return lines.join("\n");
      return [...lines.slice(0, 20), `(${lines.length - 30} more)`, ...lines.slice(-10)].join("\n");
    } catch {
      return "(none)";
    }
  }

  upstream(): string {
    return readFileSync(this.nginx!.upstreamPath, "utf8");
  }

  /** Does the rendered upstream list `port` (`server IP:PORT;`, or with parameters after it)? */
  upstreamLists(port: number | string): boolean {
    const u = this.upstream();
    return u.includes(`:${port};`) || u.includes(`:${port} `);
  }

  /** The members nginx routes to now: the pushed list (dynamic), or the rendered file's servers. */
  async routes(port: number | string): Promise<boolean> {
    if (!this.opts.dynamic) return this.upstreamLists(port);
    return (await this.members()).some((m) => m.endsWith(`:${port}`));
  }

  /** Dynamic mode: the member list nginx holds for the upstream ([] when none was pushed). */
  async members(): Promise<string[]> {
    const res = await fetch(`${this.nginx!.membersUrl}/${UPSTREAM_NAME}`);
    const text = await res.text();
    return res.ok ? text.split("\n").filter((l) => l !== "") : [];
  }

  /** One request through nginx (a new connection each time). */
  async viaNginx(): Promise<Reply | null> {
    const r = await this.requestViaNginx();
    return "reply" in r ? r.reply : null;
  }

  /** One request through nginx: the reply, or why there is none (status, error code, time). */
  async requestViaNginx(timeoutMs = 2000): Promise<{ reply: Reply } | { failure: string }> {
    const t0 = Date.now();
    try {
      const res = await fetch(`http://127.0.0.1:${this.nginx!.port}/`, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { connection: "close" },
      });
      if (res.ok) return { reply: (await res.json()) as Reply };
      return {
        failure: `HTTP ${res.status} after ${Date.now() - t0} ms: ${(await res.text()).slice(0, 80)}`,
      };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.cause?.code ?? err.cause?.message ?? err.name;
      return { failure: `${why} after ${Date.now() - t0} ms` };
    }
  }

  /**
   * Wait until domeos-confd reports the pods as they are now applied
   * (its /healthz appliedRevision, counted once its reload command returned,
   * which waits until nginx's new workers took over): from then on no nginx
   * worker routes with an older upstream. Seeing every pod through nginx is
   * not that: during a reload old and new workers both accept connections.
   */
  async applied(timeoutMs = 30_000): Promise<void> {
    // the last pod write: confd follows only the pods' keys, so it never
    // learns of a later store revision written elsewhere (deployments, ports)
    const { kvs } = await this.reader!.list("/registry/pods/default/");
    const revision = Math.max(0, ...kvs.map((kv) => kv.modRevision));
    // polled until it says so: a slow or not yet complete /healthz (loaded
    // machine, first render under way) is asked again, not a failure
    const deadline = Date.now() + timeoutMs;
    let seen = "";
    for (;;) {
      try {
        const res = await fetch(this.confdHealthUrl, { signal: AbortSignal.timeout(5000) });
        const body = (await res.json()) as { resources?: { appliedRevision?: unknown }[] };
        const revs = (body.resources ?? []).map((r) => r.appliedRevision);
        seen = `appliedRevision ${JSON.stringify(revs)}`;
        if (revs.length > 0 && revs.every((r) => typeof r === "number" && r >= revision)) return;
      } catch (err) {
        seen = `/healthz: ${(err as Error).message}`;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `confd did not confirm store revision ${revision} applied within ${timeoutMs} ms (last: ${seen}); confd log (last lines):\n${this.confdLog()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Poll until requests through nginx have reached exactly `names` (every
   * one of them, and nothing else); returns the time it took.
   */
  async routesTo(names: string[], timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    const want = new Set(names);
    let seen = new Set<string>();
    let round = 0;
    while (Date.now() - t0 < timeoutMs) {
      const r = await this.viaNginx();
      if (r) {
        if (!want.has(r.replica))
          seen = new Set(); // a stale backend: start over
        else seen.add(r.replica);
      }
      if (seen.size === want.size) return Date.now() - t0;
      if (++round % want.size === 0) await new Promise((res) => setTimeout(res, 20));
    }
    const members = this.opts.dynamic ? `\nmembers: ${(await this.members()).join(" ")}` : "";
    throw new Error(
      `nginx did not route to all of ${[...want].join(", ")} within ${timeoutMs} ms (saw ${[...seen].join(", ")}); upstream:\n${this.upstream()}${members}\nconfd log (last lines):\n${this.confdLog()}`,
    );
  }
}
