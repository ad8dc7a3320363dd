// The real bin/domeos-confd process through etcd failures: etcd stopped and
// restarted mid-watch (outage visible in logs, /metrics and /healthz; the
// first change after recovery reaches the file within 2 s, nothing missed),
// compaction past the watcher's revision (behind a partition), and a
// revision reset (etcd wiped and started empty). The file must converge.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { EtcdServer } from "../support/etcd.js";
import { freePort } from "../support/ports.js";
import { EtcdProxy } from "./etcd-proxy.js";
import { Confd, confdArgs, EXAMPLE, PODS, podFor, readText, until } from "./nginx-harness.js";

/** A confdir with the example template, writing into a scratch directory. */
function confdirFor(): { confdir: string; dest: string } {
  const confdir = mkdtempSync(join(tmpdir(), "confd-outage-"));
  mkdirSync(join(confdir, "conf.d"));
  mkdirSync(join(confdir, "templates"));
  mkdirSync(join(confdir, "out"));
  copyFileSync(join(EXAMPLE, "templates/upstream.tmpl"), join(confdir, "templates/upstream.tmpl"));
  const dest = join(confdir, "out/upstream.conf");
  writeFileSync(
    join(confdir, "conf.d/upstream.toml"),
    `[template]
src = "upstream.tmpl"
dest = ${JSON.stringify(dest)}
keys = ["/registry/pods/default"]
check_cmd = "true"
reload_cmd = "true"
`,
  );
  return { confdir, dest };
}

/** The server lines of an upstream file, in order. */
const servers = (text: string) =>
  [...text.matchAll(/^ {6}server (\S+)(?: [^;]*)?;$/gm)].map((m) => m[1]);

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}

async function wipe(etcd: EtcdServer): Promise<void> {
  await etcd.stop();
  for (const f of readdirSync(etcd.dataDir)) rmSync(join(etcd.dataDir, f), { recursive: true });
}

async function put(endpoint: string, pods: Record<string, string>, dels: string[] = []) {
  const s = new EtcdStore({ endpoints: [endpoint] });
  try {
    for (const [name, ipPort] of Object.entries(pods)) {
      const [ip, port] = ipPort.split(":");
      await s.put(`${PODS}/${name}`, podFor(name, ip, port));
    }
    for (const name of dels) await s.delete(`${PODS}/${name}`);
  } finally {
    await s.close();
  }
}

describe("domeos-confd through etcd outages, compaction and resets", () => {
  const etcd = new EtcdServer();
  const proxy = { p: null as EtcdProxy | null };
  let confd: Confd;
  let confdir = "";
  let dest = "";
  let metrics = "";

  before(async () => {
    await etcd.start();
    proxy.p = new EtcdProxy(etcd.clientPort);
    await proxy.p.start();
    await put(etcd.endpoint, { a: "10.0.0.1:1001", b: "10.0.0.2:1002" });
    ({ confdir, dest } = confdirFor());
    const port = await freePort();
    metrics = `http://127.0.0.1:${port}`;
    confd = new Confd([
      ...confdArgs(confdir, "etcdv3", proxy.p.endpoint),
      "-watch",
      "-metrics-addr",
      `127.0.0.1:${port}`,
    ]);
    confd.start();
    await until(() => servers(readText(dest)).length === 2, 20_000, "the first render");
  });

  after(async () => {
    await confd?.stop();
    await proxy.p?.close();
    await etcd.destroy();
    if (confdir) rmSync(confdir, { recursive: true, force: true });
  });

  test("etcd stopped for 6 s and restarted: outage shown, first change after recovery < 2 s", async (t) => {
    assert.equal((await httpGet(`${metrics}/healthz`)).status, 200);
    await etcd.stop();
    // /metrics first: the gauge must follow the outage without a /healthz call.
    await until(
      async () =>
        /^confd_watch_connected\{backend="etcdv3"\} 0$/m.test(
          (await httpGet(`${metrics}/metrics`)).body,
        ),
      5000,
      "confd_watch_connected 0 in /metrics",
    );
    assert.equal((await httpGet(`${metrics}/healthz`)).status, 503, "/healthz reports the outage");
    // The etcd client's own view (docs/store.md, metrics): the endpoint left out.
    const endpointHealthy = (v: 0 | 1) =>
      new RegExp(
        `^domeos_etcd_endpoint_healthy\\{cluster="etcdv3",endpoint="${proxy.p!.endpoint}"\\} ${v}$`,
        "m",
      );
    await until(
      async () => endpointHealthy(0).test((await httpGet(`${metrics}/metrics`)).body),
      10_000,
      "domeos_etcd_endpoint_healthy 0 in /metrics",
    );
    assert.match(confd.stderr, /connection lost/);
    await new Promise((r) => setTimeout(r, 6000));
    assert.deepEqual(servers(readText(dest)), ["10.0.0.1:1001", "10.0.0.2:1002"], "file kept");

    await etcd.start();
    const healthyAt = Date.now();
    await put(etcd.endpoint, { c: "10.0.0.3:1003" }, ["a"]);
    await until(
      () => servers(readText(dest)).join() === "10.0.0.2:1002,10.0.0.3:1003",
      15_000,
      "the changes after recovery",
    );
    const lag = Date.now() - healthyAt;
    t.diagnostic(`etcd healthy -> file updated: ${lag} ms`);
    // Idle machine: under 1 s (reconnect backoff cap 1 s). The bound only has
    // to tell us from confd's 13 s, with room for a loaded CI machine.
    assert.ok(lag < 8000, `first change after etcd was healthy took ${lag} ms (confd: 13 s)`);
    await until(
      async () => (await httpGet(`${metrics}/healthz`)).status === 200,
      5000,
      "/healthz to recover",
    );
    const scraped = (await httpGet(`${metrics}/metrics`)).body;
    assert.match(scraped, endpointHealthy(1), "the endpoint healthy again");
    assert.match(scraped, /^domeos_etcd_calls_total\{cluster="etcdv3"\} [1-9]\d*$/m);
  });

  test("compaction past the watcher's revision (partition): converges", async () => {
    proxy.p!.partition();
    await until(
      async () => (await httpGet(`${metrics}/healthz`)).status === 503,
      5000,
      "the partition to show",
    );
    const s = new EtcdStore({ endpoints: [etcd.endpoint] });
    try {
      await s.put(`${PODS}/d`, podFor("d", "10.0.0.4", 1004));
      await s.delete(`${PODS}/b`);
      await s.compact(await s.revision());
    } finally {
      await s.close();
    }
    proxy.p!.restore();
    await until(
      () => servers(readText(dest)).join() === "10.0.0.3:1003,10.0.0.4:1004",
      8000,
      "the file after compaction",
    );
    const h = JSON.parse((await httpGet(`${metrics}/healthz`)).body);
    assert.ok(h.backend.relists >= 1, JSON.stringify(h.backend));
  });

  test("revision reset (etcd wiped, started empty, new pods): converges", async () => {
    await wipe(etcd);
    await etcd.start();
    await put(etcd.endpoint, { x: "10.0.1.1:2001", y: "10.0.1.2:2002" });
    await until(
      () => servers(readText(dest)).join() === "10.0.1.1:2001,10.0.1.2:2002",
      8000,
      "the file to match the new etcd",
    );
    assert.match(confd.stderr, /revision reset detected/);
    const h = JSON.parse((await httpGet(`${metrics}/healthz`)).body);
    assert.ok(h.backend.resets >= 1, JSON.stringify(h.backend));
  });
});
