// The store contract on the embedded SQLite store, plus what only it has:
// a second process sharing the data directory, and SIGKILL durability.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { CompactedError } from "../../src/store/store.js";
import { eventually, recorder, storeContract } from "./contract.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

storeContract("embedded (SQLite)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "store-embedded-"));
  dirs.push(dir);
  return new EmbeddedStore(dir);
});

test("embedded: history is compacted automatically past historyRevisions", async () => {
  const dir = mkdtempSync(join(tmpdir(), "store-embedded-"));
  dirs.push(dir);
  const s = new EmbeddedStore(dir, { historyRevisions: 10, pollMs: 20 });
  try {
    const first = await s.put("/h/k", "0");
    let last = first;
    for (let i = 1; i < 40; i++) last = await s.put("/h/k", String(i));
    const old = recorder();
    await eventually(async () => {
      // The compaction runs on the maintenance tick: watch until it has.
      const w = await s.watch("/h/", first.revision, old.handlers);
      await new Promise((r) => setTimeout(r, 30));
      await w.close();
      return old.errors.length > 0;
    }, "auto-compaction");
    assert.ok(old.errors[0] instanceof CompactedError);
    const recent = recorder();
    const w = await s.watch("/h/", last.revision - 5, recent.handlers);
    await eventually(() => recent.events.length === 6, "recent history replays");
    await w.close();
    assert.deepEqual(recent.errors, []);
  } finally {
    await s.close();
  }
});

test("embedded: a watch handler that throws ends that watch with the error, writes go on", async () => {
  const dir = mkdtempSync(join(tmpdir(), "store-embedded-"));
  dirs.push(dir);
  const s = new EmbeddedStore(dir);
  try {
    const errors: Error[] = [];
    await s.watch("/t/", 0, {
      onEvents() {
        throw new Error("handler bug");
      },
      onError(e) {
        errors.push(e);
      },
    });
    assert.equal((await s.put("/t/a", "1")).ok, true);
    assert.equal((await s.put("/t/b", "2")).ok, true);
    assert.deepEqual(
      errors.map((e) => e.message),
      ["handler bug"],
    );
  } finally {
    await s.close();
  }
});
