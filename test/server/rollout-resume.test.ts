// A rollout survives a SIGKILL of bin/domeos-server mid-way, on the embedded
// store and on etcd: the restarted server continues it from the pods in the
// store (the new pods made before the kill are kept, not made again; the
// revision stays), ends with only new pods, and ends the processes the killed
// server left running (none of the pods' old pids lives on).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isRoutable, type PodObject } from "../../src/runtime/pod-object.js";
import type { RevisionRecord, RolloutStatus } from "../../src/server/deploy/rollout-types.js";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { EtcdStore } from "../../src/store/etcd.js";
import type { Store } from "../../src/store/store.js";
import { EtcdServer } from "../support/etcd.js";
import { type ServerProcess, startServerProcess, until } from "./helpers.js";
import { deployApi } from "./rollout-helpers.js";

const ADMIN = "rollout-resume-admin-token";
const APP = `const v = process.env;
setTimeout(() => {
  require("node:http").createServer((q, s) => s.end(v.VERSION))
    .listen(+v.AUTO_PORT0, "127.0.0.1");
}, +(v.READY_DELAY_MS || 0));
process.on("SIGTERM", () => process.exit(0));
`;

const children: ChildProcess[] = [];
const pids = new Set<number>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const pid of pids) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

type Server = ServerProcess;

async function startServer(dataDir: string, range: string, etcd?: string): Promise<Server> {
  const server = await startServerProcess([
    `--data-dir=${dataDir}`,
    `--admin-token=${ADMIN}`,
    `--port-range=${range}`,
    "--drain-delay=200ms",
    ...(etcd ? [`--etcd=${etcd}`] : []),
  ]);
  children.push(server.child);
  return server;
}

function api<T>(s: Server, method: string, path: string, body?: unknown) {
  return deployApi<T>(s.url, ADMIN, method, path, body);
}

async function pods(store: Store): Promise<PodObject[]> {
  const r = await store.list("/registry/pods/default/");
  return r.kvs
    .map((kv) => JSON.parse(kv.value) as PodObject)
    .filter((p) => p.metadata.labels.deployName === "roll");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function podPid(dataDir: string, pod: string): number | undefined {
  const f = join(dataDir, "pods", "default", pod, "pid");
  return existsSync(f) ? Number(readFileSync(f, "utf8").split(" ")[0]) : undefined;
}

for (const kind of ["embedded", "etcd"] as const) {
  describe(`rollout resumed after a server SIGKILL (${kind})`, () => {
    test("continues where it was: new pods kept, old ones replaced, no leftover process", {
      timeout: 240_000,
    }, async () => {
      const dir = mkdtempSync(join(tmpdir(), "rollout-resume-"));
      const dataDir = join(dir, "data");
      const app = join(dir, "app.cjs");
      writeFileSync(app, APP);
      const base = 42000 + Math.floor(Math.random() * 40) * 100 + (kind === "etcd" ? 50 : 0);
      const range = `${base}-${base + 49}`;
      let etcd: EtcdServer | null = null;
      let reader: Store | null = null;
      let server: Server | null = null;
      try {
        if (kind === "etcd") {
          etcd = new EtcdServer(join(dir, "etcd"));
          await etcd.start();
        }
        server = await startServer(dataDir, range, etcd?.endpoint);
        reader = etcd
          ? new EtcdStore({ endpoints: [etcd.endpoint] })
          : new EmbeddedStore(join(dataDir, "store"), { pollMs: 50 });
        const c = await api(server, "POST", "", {
          name: "roll",
          command: ["node", app],
          replicas: 3,
          ports: 1,
          env: { VERSION: "v1" },
        });
        assert.equal(c.status, 201, c.msg);
        const s1 = server;
        await until("revision 1 complete", async () => {
          const r = await api<RolloutStatus>(s1, "GET", "/default/roll/rollout");
          return r.result.phase === "Complete";
        });
        const u = await api(server, "PATCH", "/default/roll", {
          env: { VERSION: "v2", READY_DELAY_MS: "1500" },
        });
        assert.equal(u.status, 200, u.msg);
        // mid-way: a new pod Ready and an old one gone, old ones still there
        const mid = await until("the rollout half way", async () => {
          const ps = await pods(reader!);
          const rev = (n: string) => ps.filter((p) => p.metadata.labels.podRevision === n);
          return rev("2").some(isRoutable) && rev("1").length === 2 && ps;
        });
        const before = mid.map((p) => ({
          name: p.metadata.name,
          revision: p.metadata.labels.podRevision,
          pid: podPid(dataDir, p.metadata.name),
        }));
        for (const b of before) if (b.pid) pids.add(b.pid);
        server.child.kill("SIGKILL");
        await new Promise((r) => server!.child.once("exit", r));
        assert.ok(
          before.every((b) => b.pid !== undefined && alive(b.pid)),
          "the killed server's pods live on",
        );

        server = await startServer(dataDir, range, etcd?.endpoint);
        const s2 = server;
        const done = await until("the rollout complete after the restart", async () => {
          const r = await api<RolloutStatus>(s2, "GET", "/default/roll/rollout");
          if (r.result.phase === "Failed") throw new Error(r.result.reason);
          return r.result.phase === "Complete" && r.result;
        });
        assert.equal(done.revision, 2);
        const final = await pods(reader);
        assert.equal(final.length, 3);
        assert.ok(final.every((p) => p.metadata.labels.podRevision === "2" && isRoutable(p)));
        const names = new Set(final.map((p) => p.metadata.name));
        for (const b of before.filter((x) => x.revision === "2"))
          assert.ok(names.has(b.name), `new pod ${b.name} made before the kill is kept`);
        for (const b of before.filter((x) => x.revision === "1"))
          assert.ok(!names.has(b.name), `old pod ${b.name} replaced`);
        for (const b of before)
          assert.ok(!alive(b.pid!), `pid ${b.pid} of ${b.name} (killed server's) is gone`);
        const h = await api<RevisionRecord[]>(server, "GET", "/default/roll/history");
        assert.deepEqual(
          h.result.map((r) => r.revision),
          [1, 2],
        );
        for (const p of final) {
          const r = await fetch(`http://127.0.0.1:${p.metadata.annotations.AUTO_PORT0}/`);
          assert.equal(await r.text(), "v2");
          const pid = podPid(dataDir, p.metadata.name);
          if (pid) pids.add(pid);
        }
        server.child.kill("SIGTERM");
        await new Promise((r) => server!.child.once("exit", r));
        server = null;
      } finally {
        if (server?.child.exitCode === null) server.child.kill("SIGKILL");
        await reader?.close();
        await etcd?.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
