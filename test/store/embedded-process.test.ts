// Embedded store across processes: a watcher in this process sees commits
// made by another process on the same data directory (the poll), and a
// writer killed with SIGKILL mid-load loses none of its acknowledged writes.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { eventually, recorder } from "./contract.js";

const WRITER = fileURLToPath(new URL("./embedded-writer.js", import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "store-proc-"));
  dirs.push(d);
  return d;
};

/** Start the writer; collect the indexes it acknowledged. */
function startWriter(dir: string, count?: number) {
  const args = [WRITER, dir, ...(count === undefined ? [] : [String(count)])];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const acked: number[] = [];
  let buf = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop()!;
    for (const l of lines) if (l.startsWith("ack ")) acked.push(Number(l.slice(4)));
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, acked, exited, stderr: () => stderr };
}

test("a watcher sees another process's commits on the same data directory", async () => {
  const dir = tempDir();
  const store = new EmbeddedStore(dir, { pollMs: 50 });
  try {
    const rec = recorder();
    const w = await store.watch("/load/", 0, rec.handlers);
    const writer = startWriter(dir, 20);
    assert.equal(await writer.exited, 0, writer.stderr());
    await eventually(() => rec.events.length === 10, "10 puts from the other process");
    await w.close();
    assert.deepEqual(
      rec.events.map((e) => (e.type === "put" ? e.kv.value : "?")),
      Array.from({ length: 10 }, (_, i) => `value-${i * 2}`),
    );
    assert.deepEqual(rec.errors, []);
  } finally {
    await store.close();
  }
});

test("SIGKILL during load: every acknowledged write is present on reopen", async () => {
  const dir = tempDir();
  const writer = startWriter(dir);
  await eventually(() => writer.acked.length >= 300, "300 acknowledged writes", 60_000);
  writer.child.kill("SIGKILL");
  await writer.exited;
  const acked = [...writer.acked];
  assert.ok(acked.length >= 300);
  const store = new EmbeddedStore(dir);
  try {
    const pod = JSON.parse((await store.get("/registry/pods/default/writer"))!.value);
    for (const i of acked) {
      if (i % 2 === 0) {
        const kv = await store.get(`/load/${String(i).padStart(6, "0")}`);
        assert.equal(kv?.value, `value-${i}`, `acknowledged put ${i} lost`);
      } else {
        assert.equal(pod.metadata.annotations[`a${i}`], String(i), `acknowledged merge ${i} lost`);
      }
    }
    // The store is consistent and writable after the crash.
    const r = await store.put("/after/crash", "ok");
    assert.equal(r.ok, true);
    // Merges may share writes (group commit); every acknowledged put took its own revision.
    const puts = acked.filter((i) => i % 2 === 0).length;
    assert.ok(r.revision > puts, `revision counter survived (${r.revision} > ${puts})`);
  } finally {
    await store.close();
  }
});
