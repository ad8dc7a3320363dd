// The one backoff behind every retry loop.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff, backoffDelay } from "../../src/retry/backoff.js";

test("doubles from initialMs to maxMs; reset starts over; failures are counted", () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000 });
  assert.deepEqual(
    Array.from({ length: 6 }, () => b.next()),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(b.failures, 6);
  b.reset();
  assert.equal(b.failures, 0);
  assert.equal(b.next(), 100);
});

test("factor, and no overflow however many failures", () => {
  assert.equal(backoffDelay({ initialMs: 10, maxMs: 1e9, factor: 3 }, 2), 90);
  const b = new Backoff({ initialMs: 500, maxMs: 30_000 });
  for (let i = 0; i < 10_000; i++) b.next();
  assert.equal(b.next(), 30_000);
  assert.ok(Number.isFinite(backoffDelay({ initialMs: 1, maxMs: 5 }, 1e9)));
});

test("jitter takes a random share off: 0.2 keeps 80-100 %, 1 is full jitter", () => {
  const at = (r: number, jitter: number) =>
    new Backoff({ initialMs: 1000, maxMs: 1000, jitter }, () => r).next();
  assert.equal(at(0, 0.2), 1000);
  assert.equal(at(1, 0.2), 800);
  assert.equal(at(0.5, 0.5), 750);
  assert.equal(at(1, 1), 0);
  assert.equal(at(0.999, 0), 1000, "no jitter: exact");
});
