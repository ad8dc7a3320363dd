// The store contract on a real etcd (test/support/etcd.ts starts it; a
// missing etcd binary fails the run loudly): batched and unbatched
// compare-and-swap, and with username/password auth.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { EtcdServer, enableRootAuth } from "../support/etcd.js";
import { storeContract } from "./contract.js";

const etcd = new EtcdServer();
before(async () => {
  await etcd.start();
});
after(async () => {
  await etcd.destroy();
});

storeContract("etcd v3", async () => new EtcdStore({ endpoints: [etcd.endpoint] }));
// Each compare-and-swap as its own transaction (no batching).
storeContract(
  "etcd v3, compare-and-swap unbatched",
  async () => new EtcdStore({ endpoints: [etcd.endpoint], batchCas: false }),
);

// Username/password (etcd's Authenticate token) on the same client: a second
// etcd with auth enabled, a root user, and the whole contract through it.
const authEtcd = new EtcdServer();
before(async () => {
  await authEtcd.start();
  await enableRootAuth(authEtcd.endpoint, "s3cret");
});
after(async () => {
  await authEtcd.destroy();
});
storeContract(
  "etcd v3 with username/password",
  async () =>
    new EtcdStore({ endpoints: [authEtcd.endpoint], username: "root", password: "s3cret" }),
);

test("etcd watchDeletions: only deletions reach the handler, from the given revision", async () => {
  const store = new EtcdStore({ endpoints: [etcd.endpoint] });
  try {
    const from = (await store.put("/t/wd/a", "1")).revision;
    await store.put("/t/wd/b", "2");
    await store.delete("/t/wd/a");
    const seen: string[] = [];
    const w = await store.watchDeletions("/t/wd/", from, {
      onEvents: (events) => {
        for (const e of events)
          seen.push(e.type === "delete" ? `delete ${e.key}` : `put ${e.kv.key}`);
      },
      onError: () => {},
    });
    await store.put("/t/wd/b", "3");
    await store.put("/t/wd/c", "4", { expectModRevision: 0 });
    await store.delete("/t/wd/c");
    const deadline = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100)); // nothing else may follow
    await w.close();
    assert.deepEqual(seen, ["delete /t/wd/a", "delete /t/wd/c"]);
  } finally {
    await store.close();
  }
});

test("etcd: an open watch keeps the process alive; an idle store after puts does not", async () => {
  const mod = new URL("../../src/store/etcd.js", import.meta.url).href;
  const script = (watch: boolean) => `
    const { EtcdStore } = await import(${JSON.stringify(mod)});
    const s = new EtcdStore({ endpoints: [${JSON.stringify(etcd.endpoint)}] });
    await s.put("/t/alive/k", "v", { expectModRevision: 0 }).catch(() => {});
    if (${watch}) await s.watch("/t/alive/", 0, { onEvents() {}, onError(e) { console.error(e); process.exit(3); } });
    console.log("ready");`;
  const run = (watch: boolean) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script(watch)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    return { child, exited };
  };
  const idle = run(false);
  const code = await Promise.race([
    idle.exited,
    new Promise((r) => setTimeout(() => r("still running"), 10_000)),
  ]);
  assert.equal(code, 0, "a store with nothing open lets the process exit");
  const watching = run(true);
  const early = await Promise.race([
    watching.exited,
    new Promise((r) => setTimeout(() => r("still running"), 3000)),
  ]);
  watching.child.kill();
  assert.equal(early, "still running", "the watch keeps the process alive");
});
