// openStore: every URL form picks the right backend; bad URLs are refused
// with a message naming the URL and what is wrong.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { EtcdStore } from "../../src/store/etcd.js";
import { openStore, parseEtcdUrl, StoreUrlError } from "../../src/store/open.js";

const dir = mkdtempSync(join(tmpdir(), "store-open-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("etcd URL forms", () => {
  assert.deepEqual(parseEtcdUrl("etcd://127.0.0.1:2379").endpoints, ["http://127.0.0.1:2379"]);
  assert.deepEqual(parseEtcdUrl("etcd://a:1,b:2").endpoints, ["http://a:1", "http://b:2"]);
  assert.deepEqual(parseEtcdUrl("etcds://a:1,b:2").endpoints, ["https://a:1", "https://b:2"]);
  assert.deepEqual(parseEtcdUrl("http://a:1,https://b:2").endpoints, ["http://a:1", "https://b:2"]);
  const o = parseEtcdUrl(
    "https://[::1]:2379?ca=/ca.pem&cert=/c.pem&key=/k.pem&username=u&password=p&dialTimeout=500&callTimeout=900",
  );
  assert.deepEqual(o, {
    endpoints: ["https://[::1]:2379"],
    tls: { ca: "/ca.pem", cert: "/c.pem", key: "/k.pem" },
    username: "u",
    password: "p",
    dialTimeoutMs: 500,
    callTimeoutMs: 900,
  });
});

test("store kinds", async () => {
  const e = await openStore(`embedded:${join(dir, "a")}`);
  assert.ok(e instanceof EmbeddedStore);
  assert.equal(e.description, `embedded ${join(dir, "a", "store.db")}`);
  await e.close();
  const plain = await openStore(join(dir, "b"));
  assert.ok(plain instanceof EmbeddedStore);
  await plain.close();
  const etcd = await openStore("etcd://127.0.0.1:1");
  assert.ok(etcd instanceof EtcdStore);
  assert.equal(etcd.description, "etcd http://127.0.0.1:1");
  await etcd.close();
});

test("an embedded store that cannot be created says where", async () => {
  const file = join(dir, "a-file");
  writeFileSync(file, "x");
  await assert.rejects(
    openStore(`embedded:${file}/sub`),
    new RegExp(`embedded store ${file}/sub/store.db: cannot open: .*`),
  );
});

test("bad URLs name the URL and the problem", async () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["redis://x:1", /"redis:\/\/x:1".*unknown scheme "redis:"/],
    ["etcd://host", /endpoint 1 "etcd:\/\/host" is not host:port/],
    ["etcd://a:1,b", /endpoint 2 "b" is not host:port/],
    ["etcd://a:99999", /port 99999 is out of range/],
    ["etcd://a:1?pasword=x", /unknown parameter "pasword"/],
    ["etcd://a:1?callTimeout=soon", /callTimeout must be a positive number/],
    ["etcd://a:1/path", /is not host:port/],
    ["embedded:", /needs a directory/],
  ];
  for (const [url, re] of cases) {
    await assert.rejects(openStore(url), (err: Error) => {
      assert.ok(err instanceof StoreUrlError, `${url}: ${err}`);
      assert.match(err.message, re, url);
      return true;
    });
  }
});
