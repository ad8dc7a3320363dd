// The lean -onetime etcd reader (src/confd/backends/etcd-range-reader.ts)
// against a real etcd: same answers as the full client (paging, revisions,
// UTF-8), failover between endpoints, clear unavailability, and the real
// domeos-confd -onetime reproducing confd's golden upstream byte for byte.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EtcdRangeReader, prefixEnd } from "../../src/confd/backends/etcd-range-reader.js";
import { createBackend } from "../../src/confd/backends/index.js";
import { EtcdStore } from "../../src/store/etcd.js";
import { StoreUnavailableError } from "../../src/store/store.js";
import { ETCD_BIN, EtcdServer, enableRootAuth, etcdAdmin, etcdWithStore } from "../support/etcd.js";
import { CONFD_GOLDEN as GOLDEN, REPO_ROOT as ROOT } from "../support/fixtures.js";
import { freePort } from "../support/ports.js";

const PODS = "/registry/pods/default";

describe("etcd range reader", () => {
  const live = etcdWithStore();
  const etcd = live.etcd;

  test("prefix range ends", () => {
    assert.deepEqual(prefixEnd(Buffer.from("/a")), Buffer.from("/b"));
    assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
    assert.deepEqual(prefixEnd(Buffer.from([0xff])), Buffer.from([0]));
  });

  test("lists like the full client: 2,500 keys over pages, one revision, UTF-8", async () => {
    const success: { request_put: { key: Buffer; value: Buffer } }[] = [];
    for (let i = 0; i < 2500; i++) {
      success.push({
        request_put: {
          key: Buffer.from(`/r/k${String(i).padStart(5, "0")}`),
          value: Buffer.from(`v${i}-é😀`),
        },
      });
      if (success.length === 100)
        await withAdmin(etcd.endpoint, (a) => a.kv.txn({ success: success.splice(0) }));
    }
    await live.store.put("/r", "self");
    await live.store.put("/rx/sibling", "x");
    const reader = new EtcdRangeReader({ endpoints: [etcd.endpoint] });
    try {
      const mine = await reader.list("/r");
      const theirs = await live.store.list("/r");
      assert.equal(mine.kvs.length, 2502);
      assert.deepEqual(mine, theirs);
      // The npm etcd3 client (protobufjs) reads the same keys and values.
      const npm = await withAdmin(etcd.endpoint, (a) => a.getAll().prefix("/r").strings());
      assert.deepEqual(Object.fromEntries(mine.kvs.map((kv) => [kv.key, kv.value])), npm);
      assert.equal(mine.revision, await live.store.revision());
      assert.equal((await reader.get("/r/k00007"))?.value, "v7-é😀");
      assert.equal(await reader.get("/r/none"), null);
      assert.equal(await reader.revision(), await live.store.revision());
    } finally {
      await reader.close();
    }
  });

  test("-onetime's page-string values: same answer as the full client (ASCII and UTF-8, pages over 1 MB)", async () => {
    // 1,500 values of ~2 KB: each 1,000-key page is ~2 MB, decoded through one
    // Latin-1 page string; every 7th value is not ASCII and must be UTF-8.
    const success: { request_put: { key: Buffer; value: Buffer } }[] = [];
    for (let i = 0; i < 1500; i++) {
      const text = i % 7 === 0 ? `é😀ü-${i}-` : `ascii-${i}-`;
      success.push({
        request_put: {
          key: Buffer.from(`/big/k${String(i).padStart(5, "0")}`),
          value: Buffer.from(`{"n":${i},"s":"${text.repeat(Math.ceil(2000 / text.length))}"}`),
        },
      });
      if (success.length === 100)
        await withAdmin(etcd.endpoint, (a) => a.kv.txn({ success: success.splice(0) }));
    }
    const reader = new EtcdRangeReader({ endpoints: [etcd.endpoint] }, undefined, true);
    try {
      const mine = await reader.list("/big/");
      const theirs = await live.store.list("/big/");
      assert.equal(mine.kvs.length, 1500);
      assert.deepEqual(mine, theirs);
      assert.ok(mine.kvs[7].value.includes("é😀ü-7-"));
    } finally {
      await reader.close();
    }
  });

  test("a dead endpoint first: fails over; all dead: StoreUnavailableError", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const reader = new EtcdRangeReader({ endpoints: [dead, etcd.endpoint] });
    try {
      assert.equal(await reader.revision(), await live.store.revision());
    } finally {
      await reader.close();
    }
    const none = new EtcdRangeReader({ endpoints: [dead] }, 2000);
    const t = Date.now();
    await assert.rejects(none.list("/r"), (err: Error) => {
      assert.ok(err instanceof StoreUnavailableError, err.message);
      assert.match(err.message, new RegExp(dead.replace(/[.:/]/g, "\\$&")));
      return true;
    });
    assert.ok(Date.now() - t < 3000);
    await none.close();
  });

  test("domeos-confd -onetime (lean reader) reproduces confd's golden upstream", async () => {
    const pods = JSON.parse(readFileSync(join(GOLDEN, "pods-12.json"), "utf8")) as Record<
      string,
      string
    >;
    for (const [k, v] of Object.entries(pods)) await live.store.put(k, v);
    const dir = mkdtempSync(join(tmpdir(), "confd-golden-"));
    try {
      mkdirSync(join(dir, "conf.d"));
      mkdirSync(join(dir, "templates"));
      writeFileSync(
        join(dir, "templates/upstream.tmpl"),
        readFileSync(join(GOLDEN, "upstream.tmpl")),
      );
      const dest = join(dir, "upstream.conf");
      writeFileSync(
        join(dir, "conf.d/upstream.toml"),
        `[template]\nsrc = "upstream.tmpl"\ndest = ${JSON.stringify(dest)}\nkeys = ["/registry/pods/default"]\n`,
      );
      const args = [
        "-onetime",
        "-confdir",
        dir,
        "-config-file",
        "/nonexistent",
        "-backend",
        "etcdv3",
      ];
      const code = await new Promise<number>((resolve) =>
        execFile(
          process.execPath,
          [join(ROOT, "bin/domeos-confd"), ...args, "-node", etcd.endpoint],
          (err) => resolve(err ? Number(err.code ?? 1) : 0),
        ),
      );
      assert.equal(code, 0);
      assert.equal(
        readFileSync(dest, "utf8"),
        readFileSync(join(GOLDEN, "upstream-12pods.conf"), "utf8"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("etcd range reader over TLS (client certificates)", () => {
  const dir = mkdtempSync(join(tmpdir(), "etcd-tls-"));
  let etcd: ChildProcess | null = null;
  let endpoint = "";
  const file = (n: string) => join(dir, n);

  before(async () => {
    // A throw-away CA and one certificate for 127.0.0.1 (server and client use).
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    ssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-subj",
      "/CN=test-ca",
    );
    ssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "tls.key",
      "-out",
      "tls.csr",
      "-subj",
      "/CN=127.0.0.1",
    );
    writeFileSync(
      file("ext.cnf"),
      "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
    );
    ssl(
      "x509",
      "-req",
      "-in",
      "tls.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "tls.crt",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    );
    const [client, peer] = [await freePort(), await freePort()];
    endpoint = `https://127.0.0.1:${client}`;
    etcd = spawn(
      ETCD_BIN,
      [
        "--name=tls",
        `--data-dir=${file("data")}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=tls=http://127.0.0.1:${peer}`,
        `--cert-file=${file("tls.crt")}`,
        `--key-file=${file("tls.key")}`,
        `--trusted-ca-file=${file("ca.crt")}`,
        "--client-cert-auth",
        "--log-level=error",
        "--logger=zap",
      ],
      { stdio: "ignore" },
    );
    const tls = { ca: file("ca.crt"), cert: file("tls.crt"), key: file("tls.key") };
    const deadline = Date.now() + 15_000;
    for (;;) {
      const probe = new EtcdRangeReader({ endpoints: [endpoint], tls }, 1000);
      try {
        await probe.revision();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await probe.close();
      }
    }
  });
  after(async () => {
    if (etcd && etcd.exitCode === null) {
      const exited = new Promise((r) => etcd!.once("exit", r));
      etcd.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("reads with -client-cert/-client-key/-client-ca-keys; refused without a client cert", async () => {
    const tls = { ca: file("ca.crt"), cert: file("tls.crt"), key: file("tls.key") };
    const s = new EtcdStore({ endpoints: [endpoint], tls });
    await s.put("/t/a", "1");
    await s.close();
    const reader = new EtcdRangeReader({ endpoints: [endpoint], tls });
    try {
      assert.deepEqual(
        (await reader.list("/t")).kvs.map((kv) => [kv.key, kv.value]),
        [["/t/a", "1"]],
      );
    } finally {
      await reader.close();
    }
    const anonymous = new EtcdRangeReader({ endpoints: [endpoint], tls: { ca: tls.ca } }, 2000);
    await assert.rejects(anonymous.list("/t"), /certificate/);
    await anonymous.close();
  });

  test("-client-insecure: the real domeos-confd trusts a certificate it cannot verify", async () => {
    const s = new EtcdStore({
      endpoints: [endpoint],
      tls: { ca: file("ca.crt"), cert: file("tls.crt"), key: file("tls.key") },
    });
    await s.put("/ins/a", "insecure-ok");
    await s.close();
    const confdir = join(dir, "confd-insecure");
    mkdirSync(join(confdir, "conf.d"), { recursive: true });
    mkdirSync(join(confdir, "templates"), { recursive: true });
    const dest = join(confdir, "out.txt");
    writeFileSync(
      join(confdir, "templates", "t.tmpl"),
      '{{range gets "/ins/*"}}{{.Value}}{{end}}\n',
    );
    writeFileSync(
      join(confdir, "conf.d", "t.toml"),
      `[template]\nsrc = "t.tmpl"\ndest = "${dest}"\nkeys = ["/ins"]\n`,
    );
    // client certificate, but not the CA that signed the server's: unverifiable
    const args = [
      join(ROOT, "bin/domeos-confd"),
      "-onetime",
      "-backend",
      "etcdv3",
      "-node",
      endpoint.replace("https://", ""),
      "-scheme",
      "https",
      "-client-cert",
      file("tls.crt"),
      "-client-key",
      file("tls.key"),
      "-confdir",
      confdir,
      "-config-file",
      "/nonexistent",
    ];
    const run = (extra: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(process.execPath, [...args, ...extra], { timeout: 60_000 }, (err, _o, stderr) =>
          resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
        ),
      );
    const verified = await run([]);
    assert.notEqual(verified.code, 0, "verification on by default");
    assert.match(verified.stderr, /certificate/);
    const insecure = await run(["-client-insecure"]);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.equal(readFileSync(dest, "utf8"), "insecure-ok\n");
  });
});

describe("etcdv3 backend with -basic-auth (etcd auth enabled)", () => {
  const etcd = new EtcdServer();
  before(async () => {
    await etcd.start();
    const admin = etcdAdmin(etcd.endpoint);
    try {
      await admin.put(`${PODS}/p1`).value("v1");
    } finally {
      admin.close();
    }
    await enableRootAuth(etcd.endpoint, "s3cret");
  });
  after(() => etcd.destroy());

  for (const watch of [false, true]) {
    test(`${watch ? "watch" : "-onetime"}: reads with the right password, fails clearly without`, async () => {
      const ok = createBackend({
        backend: "etcdv3",
        nodes: [etcd.endpoint],
        basicAuth: true,
        username: "root",
        password: "s3cret",
        watch,
        log: () => {},
      });
      try {
        await ok.start([PODS]);
        assert.equal(ok.view().get(`${PODS}/p1`), "v1");
      } finally {
        await ok.close();
      }
      if (watch) return; // watch mode retries forever by design; -onetime must fail
      const anonymous = createBackend({ backend: "etcdv3", nodes: [etcd.endpoint], watch: false });
      await assert.rejects(anonymous.start([PODS]), /user name is empty|permission denied|auth/i);
      await anonymous.close();
    });
  }
});

/** Run `fn` with a short-lived npm etcd3 client on the suite's etcd (test setup only). */
async function withAdmin<T>(
  endpoint: string,
  fn: (a: ReturnType<typeof etcdAdmin>) => Promise<T>,
): Promise<T> {
  const a = etcdAdmin(endpoint);
  try {
    return await fn(a);
  } finally {
    a.close();
  }
}
