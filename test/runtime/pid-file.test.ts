// What a killed server left running is ended, and only that: a pid file
// whose process is gone or whose pid now belongs to another process (other
// kernel start time) signals nothing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { endLeftover, writePidFile } from "../../src/runtime/pid-file.js";

const dir = mkdtempSync(join(tmpdir(), "pid-file-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function group() {
  // a group leader with a child of its own, as domeize and its app
  const p = spawn("/bin/sh", ["-c", "sleep 60 & wait"], { detached: true, stdio: "ignore" });
  const exited = new Promise<string | null>((r) => p.once("exit", (_c, sig) => r(sig)));
  return { p, exited };
}

test("the recorded group is ended (leader and its children)", async () => {
  const { p, exited } = group();
  await new Promise((r) => p.once("spawn", r));
  const file = join(dir, "a");
  writePidFile(file, p.pid!);
  assert.match(readFileSync(file, "utf8"), new RegExp(`^${p.pid} \\d+\\n$`));
  assert.equal(await endLeftover(file), p.pid);
  assert.equal(await exited, "SIGKILL");
  assert.equal(await endLeftover(file), undefined, "the file is forgotten");
});

test("a pid now used by another process (other start time) is left alone", async () => {
  const { p, exited } = group();
  await new Promise((r) => p.once("spawn", r));
  const file = join(dir, "b");
  writeFileSync(file, `${p.pid} 1\n`);
  assert.equal(await endLeftover(file), undefined);
  assert.equal(p.exitCode, null);
  assert.equal(p.signalCode, null);
  process.kill(-p.pid!, "SIGKILL");
  await exited;
  writePidFile(file, p.pid!); // gone: nothing recorded
  assert.equal(await endLeftover(file), undefined);
});
