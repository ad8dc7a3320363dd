// The store contract on a real etcd (test/support/etcd.ts starts it; a
// missing etcd binary fails the run loudly).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { EtcdServer } from "../support/etcd.js";
import { storeContract } from "./contract.js";

const etcd = new EtcdServer();
before(async () => {
  await etcd.start();
});
after(async () => {
  await etcd.destroy();
});

storeContract("etcd v3", async () => new EtcdStore({ endpoints: [etcd.endpoint] }));

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
