// The etcd store's security options on real etcd: TLS with a client
// certificate (certificates made here with openssl), and username/password
// auth. Both go through openStore URLs, as an operator would write them.

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { openStore } from "../../src/store/open.js";
import { StoreUnavailableError } from "../../src/store/store.js";
import { EtcdProxy } from "../confd/etcd-proxy.js";
import { ETCD_BIN, EtcdServer, enableRootAuth, requireEtcd } from "../support/etcd.js";
import { freePort } from "../support/ports.js";
import { eventually, recorder } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "store-secure-"));
const procs: ChildProcess[] = [];
after(async () => {
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGKILL");
      await exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function openssl(...args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/** A CA, a server cert for 127.0.0.1 and a client cert, all signed by the CA. */
function makeCerts(): void {
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=test-ca",
    "-keyout",
    "ca-key.pem",
    "-out",
    "ca.pem",
  );
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  for (const who of ["server", "client"]) {
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${who}`,
      "-keyout",
      `${who}-key.pem`,
      "-out",
      `${who}.csr`,
    );
    openssl(
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      "san.ext",
      "-out",
      `${who}.pem`,
    );
  }
}

test("TLS with client certificates: etcds:// with ca, cert and key", async () => {
  requireEtcd();
  makeCerts();
  const port = await freePort();
  const peer = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const etcd = spawn(
    ETCD_BIN,
    [
      "--name=tls",
      `--data-dir=${join(dir, "tls-data")}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=tls=http://127.0.0.1:${peer}`,
      `--cert-file=${join(dir, "server.pem")}`,
      `--key-file=${join(dir, "server-key.pem")}`,
      `--trusted-ca-file=${join(dir, "ca.pem")}`,
      "--client-cert-auth",
      "--log-level=error",
      "--logger=zap",
    ],
    { stdio: "ignore" },
  );
  procs.push(etcd);
  const q = `ca=${join(dir, "ca.pem")}&cert=${join(dir, "client.pem")}&key=${join(dir, "client-key.pem")}`;
  const store = await openStore(`etcds://127.0.0.1:${port}?${q}`);
  try {
    await eventually(
      async () => (await store.put("/tls/k", "v").catch(() => null))?.ok === true,
      "TLS etcd answers",
      30_000,
    );
    assert.equal((await store.get("/tls/k"))?.value, "v");
    // Compare-and-swap goes through the batched lean gRPC client: same TLS.
    const rev = (await store.get("/tls/k"))!.modRevision;
    const cas = await Promise.all([
      store.put("/tls/k", "w", { expectModRevision: rev }),
      store.put("/tls/k2", "x", { expectModRevision: 0 }),
    ]);
    assert.deepEqual(
      cas.map((r) => r.ok),
      [true, true],
    );
    assert.equal((await store.get("/tls/k"))?.value, "w");
    // Without a client certificate the server refuses the handshake.
    const anon = await openStore(
      `etcds://127.0.0.1:${port}?ca=${join(dir, "ca.pem")}&callTimeout=3000`,
    );
    await assert.rejects(anon.get("/tls/k"));
    await assert.rejects(anon.put("/tls/k", "z", { expectModRevision: 1 }), StoreUnavailableError);
    await anon.close();
  } finally {
    await store.close();
  }
  await assert.rejects(
    openStore(`etcds://127.0.0.1:${port}?ca=${join(dir, "nope.pem")}`),
    /etcd TLS ca .*nope\.pem: cannot read/,
  );
});

test("username/password auth", async () => {
  const etcd = new EtcdServer(join(dir, "auth-data"));
  await etcd.start();
  try {
    await enableRootAuth(etcd.endpoint, "s3cret");
    const host = etcd.endpoint.slice("http://".length);
    const store = await openStore(`etcd://${host}?username=root&password=s3cret`);
    assert.equal((await store.put("/auth/k", "v")).ok, true);
    assert.equal((await store.get("/auth/k"))?.value, "v");
    await store.close();
    const wrong = await openStore(`etcd://${host}?username=root&password=wrong`);
    await assert.rejects(wrong.get("/auth/k"), /authentication failed/);
    await wrong.close();
  } finally {
    await etcd.destroy();
  }
});

test("username/password: an expired token is fetched again, calls and watches go on", async () => {
  // Simple tokens expire after --auth-token-ttl seconds without use.
  const etcd = new EtcdServer(join(dir, "ttl-data"), ["--auth-token-ttl=1"]);
  await etcd.start();
  try {
    await enableRootAuth(etcd.endpoint, "s3cret");
    const host = etcd.endpoint.slice("http://".length);
    const store = (await openStore(`etcd://${host}?username=root&password=s3cret`)) as EtcdStore;
    try {
      assert.equal((await store.put("/ttl/k", "1")).ok, true);
      assert.equal(store.client.stats.authentications, 1);
      await new Promise((r) => setTimeout(r, 3000)); // the token expires
      assert.equal((await store.put("/ttl/k", "2", { expectModRevision: 0 })).ok, false);
      assert.equal((await store.get("/ttl/k"))?.value, "1");
      assert.equal(store.client.stats.authentications, 2, "one new token for the expired one");
      const seen: string[] = [];
      const w = await store.watch("/ttl/", 0, {
        onEvents: (evs) => {
          for (const e of evs) if (e.type === "put") seen.push(e.kv.value);
        },
        onError: () => {},
      });
      await new Promise((r) => setTimeout(r, 3000));
      await store.put("/ttl/k", "3");
      await eventually(() => seen.includes("3"), "the watch after another expiry");
      await w.close();
    } finally {
      await store.close();
    }
  } finally {
    await etcd.destroy();
  }
});

test("username/password: a watch opened, or resumed on another endpoint, with an expired token authenticates again", async () => {
  // etcd checks the token when it creates a watch and answers an expired one
  // with "created, canceled: invalid auth token". Simple tokens expire per
  // member after --auth-token-ttl without use there: a watch resumed on
  // another member after a failover meets this.
  const etcd = new EtcdServer(join(dir, "ttl-watch-data"), ["--auth-token-ttl=1"]);
  await etcd.start();
  const proxy = new EtcdProxy(etcd.clientPort);
  await proxy.start();
  const auth = { username: "root", password: "s3cret" };
  try {
    await enableRootAuth(etcd.endpoint, "s3cret");
    // The proxy first: the watch is pinned to it until it is cut.
    const store = new EtcdStore({ endpoints: [proxy.endpoint, etcd.endpoint], ...auth });
    const writer = new EtcdStore({ endpoints: [etcd.endpoint], ...auth });
    try {
      await store.put("/ttl-watch/k", "0");
      assert.equal(store.client.stats.authentications, 1);
      await new Promise((r) => setTimeout(r, 3000)); // the token expires
      const rec = recorder();
      await store.watch("/ttl-watch/", 0, rec.handlers);
      assert.equal(store.client.stats.authentications, 2, "the watch fetched a new token");
      const r1 = await writer.put("/ttl-watch/k", "1");
      await eventually(() => rec.batches.includes(r1.revision), "the watch opened after expiry");
      await new Promise((r) => setTimeout(r, 3000)); // that token expires too (the watch uses none)
      proxy.partition(); // the watch's stream fails: resumed on the other endpoint
      const r2 = await writer.put("/ttl-watch/k", "2");
      await eventually(() => rec.batches.includes(r2.revision), "the watch resumed after expiry");
      assert.deepEqual(rec.errors, []);
      assert.deepEqual(rec.batches, [r1.revision, r2.revision], "every revision once");
      assert.ok(store.client.stats.watchResumes >= 1);
      assert.equal(store.client.stats.authentications, 3, "the resumed watch fetched a new token");
    } finally {
      await writer.close();
      await store.close();
    }
  } finally {
    await proxy.close();
    await etcd.destroy();
  }
});
