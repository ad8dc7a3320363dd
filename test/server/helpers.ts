// Shared fixtures of the server tests: real stores (embedded SQLite in a
// temp dir, real etcd), the server in-process or as its own process, pod
// objects shaped like Kubernetes v1 pods, a small HTTP client for the agent
// API, and polling without fixed sleeps.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintInstanceToken } from "../../src/server/auth/pod-token.js";
import type { ServerConfig } from "../../src/server/config/config.js";
import { deployCli } from "../../src/server/deploy/cli.js";
import { jsonLogger, silentLogger } from "../../src/server/log/logger.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { EtcdStore } from "../../src/store/etcd.js";
import { podKey, type Store } from "../../src/store/store.js";
import { EtcdServer } from "../support/etcd.js";
import { REPO_ROOT } from "../support/fixtures.js";
import { until as poll } from "../support/poll.js";
import { freePort } from "../support/ports.js";

export const SECRET = "test-secret-0123456789abcdef0123456789";
export const ADMIN = "admin-token-for-tests";

export interface StoreFixture {
  kind: "embedded" | "etcd";
  store: Store;
  etcd?: EtcdServer;
  /** Open another client on the same data (a second server replica). */
  reopen(): Store;
  destroy(): Promise<void>;
}

export async function makeStore(kind: "embedded" | "etcd"): Promise<StoreFixture> {
  if (kind === "embedded") {
    const dir = mkdtempSync(join(tmpdir(), "server-embedded-"));
    const opened: Store[] = [];
    // synchronous "normal": commits survive SIGKILL (not power loss) and the
    // suite does not spend minutes in fsync on a loaded CI machine.
    const open = () => {
      const s = new EmbeddedStore(dir, { synchronous: "normal" });
      opened.push(s);
      return s;
    };
    return {
      kind,
      store: open(),
      reopen: open,
      async destroy() {
        for (const s of opened) await s.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const etcd = new EtcdServer();
  await etcd.start();
  const opened: Store[] = [];
  const open = () => {
    const s = new EtcdStore({ endpoints: [etcd.endpoint] });
    opened.push(s);
    return s;
  };
  return {
    kind,
    etcd,
    store: open(),
    reopen: open,
    async destroy() {
      for (const s of opened) await s.close().catch(() => {});
      await etcd.destroy();
    },
  };
}

export const STORE_KINDS = ["embedded", "etcd"] as const;

export async function startTestServer(
  store: Store,
  extra: Partial<ServerConfig> = {},
): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "server-data-"));
  return startServer({
    listen: "127.0.0.1:0",
    dataDir,
    clusters: { default: store },
    secret: SECRET,
    adminToken: ADMIN,
    // SERVER_TEST_LOG=debug shows the servers' logs when a test needs explaining.
    logger: process.env.SERVER_TEST_LOG ? jsonLogger("debug") : silentLogger,
    ...extra,
  });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Its stderr so far. */
  stderr: () => string;
}

/**
 * bin/domeos-server as its own process on a free 127.0.0.1 port with `args`;
 * resolves once `ready` (/healthz: it serves; /readyz: its stores answer)
 * answers 200 within `ms`. Throws with its stderr when it exits first or
 * never gets ready (it is killed then); once started, the caller ends it.
 */
export async function startServerProcess(
  args: string[],
  { ready = "/healthz", ms = 30_000 }: { ready?: "/healthz" | "/readyz"; ms?: number } = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(
    join(REPO_ROOT, "bin", "domeos-server"),
    [`--listen=127.0.0.1:${port}`, ...args],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await until(
      `the server on ${port} (${ready})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`it exited ${child.exitCode}`);
        return (await fetch(`${url}${ready}`)).ok;
      },
      ms,
    );
  } catch (err) {
    child.kill("SIGKILL"); // never ready: end it here, the caller has no handle on it
    throw new Error(`${(err as Error).message}; stderr: ${stderr}`, { cause: err });
  }
  return { child, url, stderr: () => stderr };
}

/**
 * A server process on `storeUrl` as cluster "default": a data dir of its own
 * under `dir`, the tests' secret, admin token "admin", `flags` added; ready
 * when its store answers.
 */
export function spawnServer(storeUrl: string, dir: string, flags: string[] = []) {
  return startServerProcess(
    [
      `--cluster=default=${storeUrl}`,
      `--data-dir=${mkdtempSync(join(dir, "data-"))}`,
      `--secret=${SECRET}`,
      "--admin-token=admin",
      "--log-level=warn",
      ...flags,
    ],
    { ready: "/readyz", ms: 90_000 },
  );
}

/** Poll `fn` every 100 ms until it gives a truthy value (a throw is retried, and named on timeout). */
export function until<T>(
  what: string,
  fn: () => Promise<T | false | null | undefined>,
  ms = 90_000,
): Promise<T> {
  return poll(what, fn, { timeoutMs: ms, intervalMs: 100, retryThrows: true }) as Promise<T>;
}

export interface PodOptions {
  hostIP?: string;
  deployName?: string;
  annotations?: Record<string, string>;
  /** NEED_PORTS of the pod's container (its ledger quota). */
  needPorts?: number;
  /** metadata.uid (default uid-NS-NAME). */
  uid?: string;
  /** Pad the object to about this many bytes (3-5 KB like real pods). */
  size?: number;
}

/** A Kubernetes v1 Pod object as stored by the apiserver (JSON media type). */
export function podObject(ns: string, name: string, o: PodOptions = {}): Record<string, unknown> {
  const annotations: Record<string, string> = { ...(o.annotations ?? {}) };
  if (o.deployName) {
    annotations.deployName = o.deployName;
    annotations.accessType = "DIY";
  }
  const pod = {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name,
      namespace: ns,
      uid: o.uid ?? `uid-${ns}-${name}`,
      labels: o.deployName ? { deployName: o.deployName } : {},
      annotations,
    },
    spec: {
      hostNetwork: true,
      containers: [
        {
          name: "app",
          image: "registry.example/app:1",
          env: [] as { name: string; value: string }[],
        },
      ],
    },
    status: { phase: "Running", hostIP: o.hostIP ?? "10.0.0.1", podIP: o.hostIP ?? "10.0.0.1" },
  };
  if (o.needPorts !== undefined)
    pod.spec.containers[0]!.env.push({ name: "NEED_PORTS", value: String(o.needPorts) });
  const target = o.size ?? 0;
  let i = 0;
  while (JSON.stringify(pod).length < target) {
    pod.spec.containers[0]!.env.push({ name: `PADDING_VARIABLE_${i++}`, value: "x".repeat(40) });
  }
  return pod;
}

export async function putPod(
  store: Store,
  ns: string,
  name: string,
  o: PodOptions = {},
): Promise<void> {
  await store.put(podKey(ns, name), JSON.stringify(podObject(ns, name, o)));
}

export async function annotationsOf(
  store: Store,
  ns: string,
  name: string,
): Promise<Record<string, string>> {
  const kv = await store.get(podKey(ns, name));
  if (!kv) throw new Error(`pod ${ns}/${name} missing`);
  return JSON.parse(kv.value).metadata.annotations ?? {};
}

export interface Reply {
  status: number;
  body: { resultCode?: number; resultMsg?: string; result?: unknown } & Record<string, unknown>;
  text: string;
}

export async function request(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Reply["body"] = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // non-JSON answer (text endpoints)
  }
  return { status: res.status, body: parsed, text };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The instance token of a pod made by podObject() (its default uid uid-NS-NAME). */
export function podToken(ns: string, pod: string, cluster = "default", uid = `uid-${ns}-${pod}`) {
  return mintInstanceToken(SECRET, cluster, ns, pod, uid);
}

export function agentUrl(
  base: string,
  ns: string,
  pod: string,
  what: "annotation" | "ports",
  cluster = "default",
) {
  return `${base}/api/agent/pod/${cluster}/${ns}/${pod}/${what}`;
}

/**
 * `domeos-server deploy ...` in-process against a server (a node start costs
 * seconds on a loaded CI box; the executable itself is tested elsewhere).
 */
export async function runDeployCli(
  args: string[],
  server: string,
  token: string,
  /** More of the CLI's environment (USER, ...). */
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await deployCli(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env: { DOMEOS_SERVER: server, DOMEOS_ADMIN_TOKEN: token, ...extraEnv },
  });
  return { code, out, err };
}
