// The apply pipeline on real files and real shell commands: unchanged output
// means no write/check/reload; a failing check keeps the old file; -noop
// prints a diff; a check-only run leaves the destination alone; mode/owner
// drift is repaired.

import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  type ApplyOptions,
  applyOutput,
  checkCommand,
  checkOutput,
} from "../../src/confd/apply/stage.js";
import { unifiedDiff } from "../../src/confd/apply/unified-diff.js";
import type { ResourceConfig } from "../../src/confd/resource/resource-config.js";

function setup(extra: Partial<ResourceConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "confd-apply-"));
  const log = join(dir, "calls.log");
  const res: ResourceConfig = {
    file: join(dir, "r.toml"),
    src: "t.tmpl",
    templatePath: join(dir, "t.tmpl"),
    dest: join(dir, "out.conf"),
    keys: [],
    prefix: "/",
    backendKeys: [],
    checkCmd: `echo check >> ${log}; cp {{.src}} ${join(dir, "checked")}`,
    reloadCmd: `echo reload >> ${log}`,
    ...extra,
  };
  const lines: string[] = [];
  const opts: ApplyOptions = {
    noop: false,
    syncOnly: false,
    keepStageFile: false,
    commandTimeoutMs: 10000,
    log: (level, msg) => lines.push(`${level} ${msg}`),
  };
  const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
  const staged = () => readdirSync(dir).filter((f) => f.startsWith(".out.conf"));
  return { dir, res, opts, calls, staged, lines };
}

test("new file: staged, checked ({{.src}} is the staged file), renamed, reloaded; mode 0644", async () => {
  const { dir, res, opts, calls, staged } = setup();
  const r = await applyOutput(res, "hello\n", opts);
  assert.equal(r.status, "updated");
  assert.equal(readFileSync(res.dest, "utf8"), "hello\n");
  assert.equal(
    readFileSync(join(dir, "checked"), "utf8"),
    "hello\n",
    "check_cmd saw the new content",
  );
  assert.deepEqual(calls(), ["check", "reload"]);
  assert.equal(statSync(res.dest).mode & 0o7777, 0o644);
  assert.deepEqual(staged(), []);
});

test("unchanged output: no write, no check, no reload", async () => {
  const { res, opts, calls } = setup();
  await applyOutput(res, "same\n", opts);
  const before = statSync(res.dest).mtimeMs;
  const r = await applyOutput(res, "same\n", opts);
  assert.equal(r.status, "unchanged");
  assert.deepEqual(calls(), ["check", "reload"]);
  assert.equal(statSync(res.dest).mtimeMs, before);
});

test("failed check keeps the old file, removes the staged file, reports the output", async () => {
  const { res, opts, calls, staged } = setup({ checkCmd: "echo 'bad config' >&2; exit 3" });
  writeFileSync(res.dest, "old\n");
  const r = await applyOutput(res, "new\n", opts);
  assert.equal(r.status, "check-failed");
  assert.ok(r.status === "check-failed" && r.message === "Config check failed: exit status 3");
  assert.ok(r.status === "check-failed" && r.output.includes("bad config"));
  assert.equal(readFileSync(res.dest, "utf8"), "old\n");
  assert.deepEqual(calls(), []);
  assert.deepEqual(staged(), []);
});

test("-keep-stage-file keeps the staged file when it was not renamed", async () => {
  const { res, opts, staged } = setup({ checkCmd: "false" });
  writeFileSync(res.dest, "old\n");
  await applyOutput(res, "new\n", { ...opts, keepStageFile: true });
  assert.equal(staged().length, 1);
});

test("-noop: unified diff, nothing written, checked or reloaded", async () => {
  const { res, opts, calls } = setup();
  writeFileSync(res.dest, "a\nb\nc\n");
  const r = await applyOutput(res, "a\nB\nc\n", { ...opts, noop: true });
  assert.equal(r.status, "noop");
  assert.ok(r.status === "noop");
  assert.equal(r.diff, `--- ${res.dest}\n+++ ${res.dest} (new)\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n`);
  assert.equal(readFileSync(res.dest, "utf8"), "a\nb\nc\n");
  assert.deepEqual(calls(), []);
});

test("checkOutput: stages, checks ({{.src}}), removes the staged file, never touches the destination", async () => {
  const { dir, res, opts, calls, staged } = setup({ checkCmd: `grep -q good {{.src}}` });
  writeFileSync(res.dest, "old\n");
  assert.deepEqual(await checkOutput(res, "good\n", opts), { ok: true });
  const bad = await checkOutput(res, "bad\n", opts);
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok && bad.status === "check-failed" && /exit status 1/.test(bad.message));
  assert.equal(readFileSync(res.dest, "utf8"), "old\n");
  assert.deepEqual(staged(), [], "no staged file left behind");
  assert.deepEqual(calls(), [], "no reload");
  assert.ok(existsSync(dir));
});

test("mode and owner drift are repaired (owner/group work, unlike confd)", async () => {
  const { res, opts } = setup({ mode: 0o640, uid: 65534, gid: 65534 });
  writeFileSync(res.dest, "x\n");
  chmodSync(res.dest, 0o600);
  chownSync(res.dest, 0, 0);
  const r = await applyOutput(res, "x\n", opts);
  assert.equal(r.status, "updated");
  assert.ok(
    r.status === "updated" && r.reasons.some((s) => s.includes("has mode 0600 should be 0640")),
  );
  const st = statSync(res.dest);
  assert.equal(st.mode & 0o7777, 0o640);
  assert.equal(st.uid, 65534);
  assert.equal(st.gid, 65534);
  assert.equal((await applyOutput(res, "x\n", opts)).status, "unchanged");
});

test("without an explicit mode the destination's mode is kept", async () => {
  const { res, opts } = setup();
  writeFileSync(res.dest, "x\n");
  chmodSync(res.dest, 0o600);
  await applyOutput(res, "y\n", opts);
  assert.equal(statSync(res.dest).mode & 0o7777, 0o600);
});

test("reload failure and timeouts are reported; -sync-only skips check and reload", async () => {
  const a = setup({ reloadCmd: "exit 7" });
  const r = await applyOutput(a.res, "x\n", a.opts);
  assert.equal(r.status, "reload-failed");
  assert.equal(readFileSync(a.res.dest, "utf8"), "x\n");
  const b = setup({ checkCmd: "sleep 30" });
  const t = await applyOutput(b.res, "x\n", { ...b.opts, commandTimeoutMs: 300 });
  assert.ok(t.status === "check-failed" && /timed out after 300 ms/.test(t.message));
  const c = setup();
  assert.equal((await applyOutput(c.res, "x\n", { ...c.opts, syncOnly: true })).status, "updated");
  assert.deepEqual(c.calls(), []);
});

test("a missing destination directory is a clear failure", async () => {
  const { res, opts } = setup();
  const r = await applyOutput({ ...res, dest: "/nonexistent-dir-x/out.conf" }, "x\n", opts);
  assert.ok(r.status === "write-failed" && r.message.includes("/nonexistent-dir-x"));
});

test("helpers: {{.src}} substitution, diff hunks", () => {
  assert.equal(
    checkCommand("nginx -t -c {{ .src }} && test -s {{.src}}", "/x/.f1"),
    "nginx -t -c /x/.f1 && test -s /x/.f1",
  );
  assert.equal(unifiedDiff("same", "same", "a", "b"), "");
  const old = `${Array.from({ length: 20 }, (_, i) => `l${i}`).join("\n")}\n`;
  const d = unifiedDiff(old, old.replace("l2\n", "").replace("l15", "L15"), "a", "b");
  assert.equal(d.match(/^@@/gm)?.length, 2);
  assert.match(d, /^-l2$/m);
  assert.match(d, /^\+L15$/m);
});
