// Tailing: only new lines, across rename rotation, truncation, and a file
// created later; with and without -poll.

import assert from "node:assert/strict";
import { appendFileSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { baseEnv, collect, removeDir, startDomeize, tempDir, until } from "./helpers.js";

let dir: string;
before(() => {
  dir = tempDir();
});
after(() => removeDir(dir));

for (const poll of [true, false]) {
  test(`tail ${poll ? "-poll" : "(events)"}: new lines, rotation, truncation, late file`, async () => {
    const log = `${dir}/app-${poll}.log`;
    const late = `${dir}/late-${poll}.log`;
    writeFileSync(log, "old line\n");
    const app = "echo started; while :; do sleep 0.05; done";
    const args = [...(poll ? ["-poll"] : []), "-stdout", log, "-stdout", late, "sh", "-c", app];
    const child = startDomeize(args, baseEnv({}));
    let out = "";
    child.stdout?.on("data", (c) => {
      out += c;
    });
    const done = collect(child);
    try {
      await until(() => out.includes("started"), 20_000, "the app");
      await new Promise((r) => setTimeout(r, 300));
      appendFileSync(log, "one\n");
      await until(() => out.includes("one\n"), 10_000, "an appended line");
      appendFileSync(log, "before-rotate\n");
      renameSync(log, `${log}.1`);
      writeFileSync(log, "after-rotate\n");
      await until(() => out.includes("after-rotate\n"), 10_000, "the line after rotation");
      truncateSync(log, 0);
      await new Promise((r) => setTimeout(r, 400));
      appendFileSync(log, "after-truncate\n");
      await until(() => out.includes("after-truncate\n"), 10_000, "the line after truncation");
      writeFileSync(late, "late-line\n");
      await until(() => out.includes("late-line\n"), 10_000, "the late file");
    } finally {
      child.kill("SIGTERM");
    }
    await done;
    assert.doesNotMatch(out, /old line/, "only new lines");
    assert.match(out, /before-rotate\n/, "the rotated file was drained");
  });
}
