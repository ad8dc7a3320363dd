// PodAnnotator on real stores: the text it writes is exactly the pod parsed,
// merged and serialised again (applyPatch), although it serialises only the
// annotations of its cached split pod; a cache made stale by another writer
// costs a retry, never an update; a pod deleted behind its back is a 404.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { applyPatch, PodAnnotator } from "../../src/server/agent/pod-annotator.js";
import { podKey } from "../../src/store/store.js";
import { makeStore, STORE_KINDS, type StoreFixture } from "./helpers.js";

const PODS: Record<string, unknown>[] = [
  { kind: "Pod", metadata: { name: "a", annotations: { keep: "me", "é ü": '\u2028"\\' } } },
  { kind: "Pod", metadata: { name: "b" }, spec: { containers: [{ name: "x" }] } },
  { kind: "Pod", spec: { note: "no metadata at all" } },
  { kind: "Pod", metadata: { name: "d", annotations: "not an object" }, status: {} },
  { metadata: { annotations: { AUTO_PORT0: "20001" }, labels: { annotations: "x" } } },
];

for (const kind of STORE_KINDS) {
  describe(`PodAnnotator on ${kind}`, () => {
    let fx: StoreFixture;
    let retries = 0;
    let ann: PodAnnotator;
    before(async () => {
      fx = await makeStore(kind);
      ann = new PodAnnotator(fx.store, { onCasRetry: () => retries++ });
    });
    after(async () => {
      await fx.destroy();
    });

    test("writes exactly JSON.stringify of the merged pod, merge after merge", async () => {
      for (const [i, pod] of PODS.entries()) {
        const key = podKey("split", `p${i}`);
        let expected = JSON.stringify(pod);
        await fx.store.put(key, expected);
        const patches: Record<string, string>[] = [
          { AUTO_PORT0: "20000" },
          { AUTO_PORT0: "20002", AUTO_PORT1: "20003" },
          { AUTO_PORT1: "20003" }, // no change: nothing written
          { AUTO_PORTS: "20004,20005", AUTO_PORT0: "20000" },
        ];
        for (const patch of patches) {
          expected = applyPatch(key, expected, patch) ?? expected;
          await ann.merge("split", `p${i}`, patch);
          assert.equal(
            (await fx.store.get(key))!.value,
            expected,
            `pod ${i} after ${JSON.stringify(patch)}`,
          );
        }
      }
    });

    test("another writer changes the pod: one retry, both changes kept", async () => {
      const key = podKey("split", "stale");
      await fx.store.put(key, JSON.stringify(PODS[0]));
      await ann.merge("split", "stale", { AUTO_PORT0: "20000" }); // cached now
      const cur = (await fx.store.get(key))!;
      const other = JSON.parse(cur.value);
      other.metadata.annotations.fromElsewhere = "yes";
      other.spec = { changed: true };
      await fx.store.put(key, JSON.stringify(other));
      const before = retries;
      await ann.merge("split", "stale", { AUTO_PORT1: "20001" });
      assert.equal(retries - before, 1, "the stale cache cost exactly one failed compare-and-swap");
      const stored = JSON.parse((await fx.store.get(key))!.value);
      assert.deepEqual(stored.metadata.annotations, {
        keep: "me",
        "é ü": '\u2028"\\',
        AUTO_PORT0: "20000",
        fromElsewhere: "yes",
        AUTO_PORT1: "20001",
      });
      assert.deepEqual(stored.spec, { changed: true });
    });

    test("pod deleted behind the cache: 404, and nothing re-created", async () => {
      const key = podKey("split", "gone");
      await fx.store.put(key, JSON.stringify(PODS[1]));
      await ann.merge("split", "gone", { AUTO_PORT0: "20000" });
      await fx.store.delete(key);
      await assert.rejects(ann.merge("split", "gone", { AUTO_PORT0: "20001" }), /not found/);
      assert.equal(await fx.store.get(key), null);
    });
  });
}
