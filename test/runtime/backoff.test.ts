// Capped exponential restart backoff.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RestartBackoff } from "../../src/runtime/backoff.js";

test("doubles from the initial delay up to the cap, resets after a long run", () => {
  const b = new RestartBackoff({ initialMs: 100, maxMs: 1000, factor: 2, resetAfterMs: 5000 });
  assert.deepEqual(
    [10, 10, 10, 10, 10, 10].map((ran) => b.next(ran)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(b.next(5000), 100, "a run of resetAfterMs starts over");
  assert.equal(b.next(10), 200);
});
