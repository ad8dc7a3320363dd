// Tracing a failed check to the keys at fault: bisection finds every bad key
// among the candidates in about log2(n) checks each, answers "not traced"
// when hiding every candidate does not help, and stops at its limits.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findCulprits } from "../../src/confd/manager/find-culprits.js";

const keys = (n: number) => Array.from({ length: n }, (_, i) => `/k/${String(i).padStart(4, "0")}`);

/** The "check": passes when every bad key is hidden. */
const checkWithout =
  (bad: string[]) =>
  async (hidden: readonly string[]): Promise<boolean> =>
    bad.every((b) => hidden.includes(b));

const limits = { maxCulprits: 16, maxProbes: 64 };

test("one bad key among 1000: found in about log2(n) checks", async () => {
  const all = keys(1000);
  const r = await findCulprits(all, checkWithout([all[613]]), limits);
  assert.deepEqual(r?.culprits, [all[613]]);
  assert.ok((r?.probes ?? 99) <= 12, `${r?.probes} checks`);
});

test("several bad keys, first and last included: all found", async () => {
  const all = keys(50);
  const bad = [all[0], all[17], all[49]];
  const r = await findCulprits(all, checkWithout(bad), limits);
  assert.deepEqual(r?.culprits.sort(), bad);
});

test("a single candidate; a failure hiding everything does not fix: not traced", async () => {
  assert.deepEqual((await findCulprits(["/a"], checkWithout(["/a"]), limits))?.culprits, ["/a"]);
  assert.equal(await findCulprits(keys(8), async () => false, limits), null);
  assert.equal(await findCulprits([], async () => true, limits), null);
});

test("exactly as many culprits as allowed: found (the last one is confirmed before the limit applies)", async () => {
  const all = keys(40);
  const r = await findCulprits(all, checkWithout([all[3]]), { maxCulprits: 1, maxProbes: 64 });
  assert.deepEqual(r?.culprits, [all[3]]);
  const two = await findCulprits(all, checkWithout([all[3], all[30]]), {
    maxCulprits: 2,
    maxProbes: 64,
  });
  assert.deepEqual(two?.culprits, [all[3], all[30]]);
});

test("limits: too many culprits, too many checks, a passed deadline: not traced", async () => {
  const all = keys(40);
  const bad = all.slice(0, 10);
  assert.equal(await findCulprits(all, checkWithout(bad), { maxCulprits: 3, maxProbes: 64 }), null);
  assert.equal(
    await findCulprits(all, checkWithout([all[5]]), { maxCulprits: 3, maxProbes: 2 }),
    null,
  );
  assert.equal(
    await findCulprits(all, checkWithout([all[5]]), { ...limits, deadline: Date.now() - 1 }),
    null,
  );
});
