// Starts a real etcd (Debian package etcd-server) on 127.0.0.1 with ports
// chosen per run, in a temporary data directory; stops it by PID.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { Etcd3 } from "etcd3";
import { EtcdStore } from "../../src/store/etcd.js";
import { freePort } from "./ports.js";

export const ETCD_BIN = process.env.ETCD_BIN ?? "/usr/bin/etcd";

/** Fails loudly when etcd is missing: CI installs it (.ci/run). */
export function requireEtcd(): void {
  const r = spawnSync(ETCD_BIN, ["--version"]);
  if (r.status !== 0) {
    throw new Error(`etcd not found at ${ETCD_BIN}: apt-get install -y etcd-server (see .ci/run)`);
  }
}

export class EtcdServer {
  private proc: ChildProcess | null = null;
  readonly dataDir: string;
  clientPort = 0;
  peerPort = 0;

  constructor(
    dataDir?: string,
    /** More etcd flags (e.g. "--auth-token-ttl=1"). */
    private readonly extraArgs: string[] = [],
  ) {
    this.dataDir = dataDir ?? mkdtempSync(join(tmpdir(), "etcd-test-"));
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** Start (or restart on the same ports and data) and wait until healthy. */
  async start(): Promise<void> {
    requireEtcd();
    // Already running: a second etcd on the same data dir would block on its lock and leak.
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) return;
    if (this.clientPort === 0) {
      this.clientPort = await freePort();
      this.peerPort = await freePort();
    }
    const args = [
      "--name=test",
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${this.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${this.peerPort}`,
      `--initial-cluster=test=http://127.0.0.1:${this.peerPort}`,
      "--log-level=error",
      "--logger=zap",
      ...this.extraArgs,
    ];
    this.proc = spawn(ETCD_BIN, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    this.proc.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`etcd exited: ${stderr}`);
      try {
        const res = await fetch(`${this.endpoint}/health`);
        if (res.ok) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`etcd did not become healthy in 15s: ${stderr}`);
  }

  /** Stop by PID (SIGTERM, then SIGKILL) and wait for the exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill(signal);
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }

  /** Stop and delete the data directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * A real etcd and an EtcdStore client on it for the enclosing suite (or
 * file): started in its before(), closed and destroyed in its after().
 */
export function etcdWithStore(): { etcd: EtcdServer; readonly store: EtcdStore } {
  const etcd = new EtcdServer();
  let store: EtcdStore | undefined;
  before(async () => {
    await etcd.start();
    store = new EtcdStore({ endpoints: [etcd.endpoint] });
  });
  after(async () => {
    await store?.close();
    await etcd.destroy();
  });
  return {
    etcd,
    get store(): EtcdStore {
      if (store === undefined)
        throw new Error("etcdWithStore: used before the suite's before() ran");
      return store;
    },
  };
}

/**
 * The npm etcd3 client (a dev dependency) for test setup the store does not
 * offer: bulk transactions, users, roles, enabling auth. Close it after use.
 */
export function etcdAdmin(endpoint: string): Etcd3 {
  return new Etcd3({ hosts: endpoint });
}

/**
 * A real 3-member (or n-member) etcd cluster on loopback ports chosen per
 * run, each member its own process and data directory, stopped by PID.
 * Members can be frozen (SIGSTOP: connections stay open, nothing answers),
 * killed and restarted on the same ports and data.
 */
export class EtcdCluster {
  readonly members: EtcdMember[] = [];
  private readonly token = `test-${process.pid}-${Date.now()}`;

  constructor(readonly size = 3) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  async start(): Promise<void> {
    requireEtcd();
    for (let i = 0; i < this.size; i++) {
      this.members.push(new EtcdMember(`m${i}`, await freePort(), await freePort()));
    }
    const initial = this.members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    await Promise.all(this.members.map((m) => m.start(initial, this.token)));
  }

  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => m.destroy()));
  }
}

export class EtcdMember {
  private proc: ChildProcess | null = null;
  private initial = "";
  private token = "";
  readonly dataDir = mkdtempSync(join(tmpdir(), "etcd-member-"));
  stderr = "";

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }
  get peerUrl(): string {
    return `http://127.0.0.1:${this.peerPort}`;
  }
  get pid(): number {
    if (!this.proc?.pid) throw new Error(`etcd member ${this.name} is not running`);
    return this.proc.pid;
  }

  /** Start (the first time with the cluster's member list) and wait until it serves with a leader. */
  async start(initial = this.initial, token = this.token): Promise<void> {
    this.initial = initial;
    this.token = token;
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${initial}`,
      `--initial-cluster-token=${token}`,
      "--initial-cluster-state=new",
      "--log-level=error",
      "--logger=zap",
    ];
    const proc = spawn(ETCD_BIN, args, { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    proc.stderr?.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-8000);
    });
    await this.healthy(30_000);
  }

  /** Wait until /health says ok (the member serves and sees a leader). */
  async healthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.proc && this.proc.exitCode !== null) {
        throw new Error(`etcd member ${this.name} exited: ${this.stderr}`);
      }
      try {
        const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok && ((await res.json()) as { health?: string }).health === "true") return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd member ${this.name} not healthy within ${timeoutMs} ms: ${this.stderr}`);
  }

  signal(sig: NodeJS.Signals): void {
    process.kill(this.pid, sig);
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGCONT");
    p.kill("SIGKILL");
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Turn on etcd's auth with a root user (role root) and this password. */
export async function enableRootAuth(endpoint: string, password: string): Promise<void> {
  const admin = etcdAdmin(endpoint);
  try {
    await admin.user("root").create(password);
    await admin.role("root").create();
    await admin.user("root").addRole("root");
    await admin.auth.authEnable();
  } finally {
    admin.close();
  }
}
