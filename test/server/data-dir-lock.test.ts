// One server per data dir (issue 15): a second domeos-server on the same
// --data-dir refuses to start, naming the pid that holds it, and changes
// nothing; the lock goes with its process (SIGKILL leaves no stale lock).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DataDirInUseError } from "../../src/server/lock/data-dir-lock.js";
import { makeStore, startTestServer } from "./helpers.js";

/** Start bin/domeos-server; resolves with its URL once it listens, or its exit and stderr. */
function run(dataDir: string, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [
      "dist/src/server/main.js",
      "--listen=127.0.0.1:0",
      `--data-dir=${dataDir}`,
      "--runtime=none",
      "--admin-token=admin",
      ...extra,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const started = new Promise<{ url?: string; code?: number | null; stderr: string }>((resolve) => {
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/[^"\s]+)/.exec(stderr);
      if (m) resolve({ url: m[1], stderr });
    });
    child.on("exit", (code) => resolve({ code, stderr }));
  });
  return { child, started };
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => c.once("exit", () => r()));

describe("one server per data dir", () => {
  test("embedded store: a second domeos-server refuses, naming the holder's pid; SIGKILL frees it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lock-cli-"));
    const first = run(dir);
    const a = await first.started;
    assert.ok(a.url, `first server started: ${a.stderr}`);
    try {
      const second = run(dir);
      const b = await second.started;
      assert.equal(b.code, 1, b.stderr);
      assert.match(
        b.stderr,
        new RegExp(`data dir ${dir} is in use by domeos-server pid ${first.child.pid} `),
      );
      // the first one still serves
      assert.equal((await fetch(`${a.url}/readyz`)).status, 200);
    } finally {
      first.child.kill("SIGKILL");
      await exited(first.child);
    }
    // the kernel dropped the lock with the process: the next one starts
    const third = run(dir);
    const c = await third.started;
    assert.ok(c.url, `started after SIGKILL of the holder: ${c.stderr}`);
    third.child.kill("SIGTERM");
    await exited(third.child);
  });

  test("etcd store, in one process: the second startServer rejects, the first keeps serving", async () => {
    const fx = await makeStore("etcd");
    const dataDir = mkdtempSync(join(tmpdir(), "lock-inproc-"));
    const srv = await startTestServer(fx.store, { dataDir });
    try {
      await assert.rejects(
        startTestServer(fx.store, { dataDir }),
        (err: unknown) =>
          err instanceof DataDirInUseError &&
          err.holderPid === process.pid &&
          /is in use by domeos-server pid/.test(err.message),
      );
      assert.equal((await fetch(`${srv.url}/readyz`)).status, 200);
    } finally {
      await srv.close();
    }
    // released on close
    const again = await startTestServer(fx.store, { dataDir });
    await again.close();
    await fx.destroy();
  });
});
