// When renders happen: merged follow-ups without a wait, consul-template
// quiescence with -wait min:max, a minimum interval between reloads, and
// retries with backoff after a failed check (not only on the next change).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Wait } from "../../src/confd/cli/wait.js";
import { memoryLogger } from "../../src/confd/log/logger.js";
import { ResourceRunner, type RunnerOptions } from "../../src/confd/manager/resource-runner.js";
import { ConfdMetrics } from "../../src/confd/metrics/metrics.js";
import { Renderer } from "../../src/confd/render/renderer.js";
import type { ResourceConfig } from "../../src/confd/resource/resource-config.js";
import { keySpaceFromObject } from "../../src/confd/template/key-space.js";
import { until } from "./nginx-harness.js";

// Close every runner at the end even when a test fails (their retry timers would keep the process alive).
const created: ResourceRunner[] = [];
after(() => {
  for (const r of created) r.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(opts: Partial<RunnerOptions> = {}, res: Partial<ResourceConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "confd-coalesce-"));
  const tmpl = join(dir, "t.tmpl");
  writeFileSync(tmpl, '{{range gets "/k/*"}}{{.Key}}={{.Value}}\n{{end}}');
  const reloads = join(dir, "reloads");
  const resource: ResourceConfig = {
    file: join(dir, "r.toml"),
    src: "t.tmpl",
    templatePath: tmpl,
    dest: join(dir, "out"),
    keys: ["/k"],
    prefix: "/",
    backendKeys: ["/k"],
    checkCmd: "",
    reloadCmd: `echo r >> ${reloads}`,
    ...res,
  };
  const ks = keySpaceFromObject({ "/k/a": "0" });
  const metrics = new ConfdMetrics();
  const log = memoryLogger();
  const runner = new ResourceRunner(
    resource,
    new Renderer(tmpl, ks),
    {
      noop: false,
      syncOnly: false,
      keepStageFile: false,
      commandTimeoutMs: 10000,
      reloadMinIntervalMs: 0,
      retryInitialMs: 50,
      retryMaxMs: 400,
      printDiff: () => {},
      ...opts,
    },
    log,
    metrics,
  );
  created.push(runner);
  const reloadCount = () =>
    existsSync(reloads) ? readFileSync(reloads, "utf8").trim().split("\n").length : 0;
  const set = (v: string) => {
    ks.setExact("/k/a", v);
    runner.notify();
  };
  return {
    dir,
    resource,
    ks,
    runner,
    reloadCount,
    set,
    log,
    metrics,
    out: () => (existsSync(resource.dest) ? readFileSync(resource.dest, "utf8") : ""),
  };
}

test("no wait: a burst of changes during a render is merged into one follow-up render", async () => {
  // The first render's check_cmd announces itself and holds until released:
  // the burst lands while it runs, whatever the machine's load (no timing).
  const dir = mkdtempSync(join(tmpdir(), "confd-burst-"));
  const started = join(dir, "started");
  const release = join(dir, "release");
  const t = setup(
    {},
    { checkCmd: `touch ${started}; while [ ! -e ${release} ]; do sleep 0.01; done` },
  );
  t.set("1");
  await until(() => existsSync(started));
  for (let i = 2; i <= 100; i++) t.set(String(i));
  writeFileSync(release, "");
  await until(() => t.out() === "/k/a=100\n" && t.reloadCount() === 2);
  await t.runner.idle();
  assert.equal(t.runner.renders, 2);
  assert.equal(t.reloadCount(), 2);
  t.runner.close();
});

test("wait min:max: renders once the data is still for min", async () => {
  const wait: Wait = { minMs: 150, maxMs: 60_000 };
  const t = setup({ wait });
  // A burst in one tick (no timer can fire in between, however loaded the
  // machine): one render, at least min after the last change (a lower bound
  // holds under load; an upper bound would not).
  for (let i = 0; i < 10; i++) t.set(String(i));
  const lastChange = Date.now();
  assert.equal(t.runner.renders, 0, "nothing before the data is quiet");
  await until(() => t.runner.renders === 1);
  assert.ok(Date.now() - lastChange >= 140, `rendered ${Date.now() - lastChange} ms after`);
  await t.runner.idle();
  assert.equal(t.out(), "/k/a=9\n");
  assert.equal(t.reloadCount(), 1);
  t.runner.close();
});

test("wait min:max: continuous changes still render by max after the first change", async () => {
  // min is far longer than any pause between changes (even on a loaded
  // machine), so every render here comes from the max cap.
  const t = setup({ wait: { minMs: 60_000, maxMs: 300 } });
  const start = Date.now();
  let i = 0;
  while (t.runner.renders < 2) {
    assert.ok(Date.now() - start < 30_000, "no render from the max cap within 30 s");
    t.set(String(i++));
    await sleep(30);
  }
  assert.ok(Date.now() - start >= 2 * 290, `two capped renders after ${Date.now() - start} ms`);
  t.runner.close();
});

test("per-resource wait overrides the global one", async () => {
  const t = setup({ wait: { minMs: 60000, maxMs: 60000 } }, { wait: { minMs: 50, maxMs: 200 } });
  t.set("x");
  await until(() => t.runner.renders === 1, 5000);
  t.runner.close();
});

test("minimum interval between reloads delays the next render", async () => {
  const t = setup({ reloadMinIntervalMs: 700 });
  t.set("1");
  await until(() => t.reloadCount() === 1);
  const first = Date.now();
  t.set("2");
  await until(() => t.reloadCount() === 2);
  assert.ok(Date.now() - first >= 600, `second reload after ${Date.now() - first} ms`);
  t.runner.close();
});

test("a failed check is retried with backoff without a new change, then applies", async () => {
  const t = setup();
  const flag = join(t.dir, "fail");
  writeFileSync(flag, "");
  t.resource.checkCmd = `test ! -e ${flag}`;
  writeFileSync(t.resource.dest, "old\n");
  t.set("new");
  await until(() => t.runner.outcomes.filter((o) => o.status === "check-failed").length >= 3);
  assert.equal(t.out(), "old\n");
  const h = t.runner.status();
  assert.equal(h.healthy, false, JSON.stringify(h));
  assert.match(h.lastError ?? "", /Config check failed: exit status 1/);
  const failures = (
    await t.metrics.registry.getSingleMetricAsString("confd_check_failures_total")
  ).match(/ (\d+)$/m);
  assert.ok(Number(failures?.[1]) >= 3, String(failures));
  rmSync(flag);
  await until(() => t.out() === "/k/a=new\n" && t.runner.status().healthy);
  t.runner.close();
});

test("-freeze-on-bad-key: a render error names the key that broke it and keeps the last good file", async () => {
  const t = setup({ freezeOnBadKey: true });
  writeFileSync(
    t.resource.templatePath,
    '{{range gets "/k/*"}}{{$d := json .Value}}{{$d.ip}}\n{{end}}',
  );
  t.ks.setExact("/k/a", '{"ip":"1.1.1.1"}');
  t.runner.notify();
  await until(() => existsSync(t.resource.dest) && t.out() === "1.1.1.1\n");
  t.ks.setExact("/k/b", "not json");
  t.runner.notify();
  await until(() => t.runner.outcomes.some((o) => o.status === "render-error"));
  const err = t.runner.outcomes.find((o) => o.status === "render-error");
  assert.ok(err && err.status === "render-error");
  assert.deepEqual(err.keys, ["/k/b"]);
  assert.match(
    err.message,
    /invalid character 'o' in literal null \(expecting 'u'\).*while processing key \/k\/b/,
  );
  assert.equal(t.out(), "1.1.1.1\n");
  assert.deepEqual(t.runner.status().brokenKeys, ["/k/b"]);
  assert.ok(
    t.log.lines.some(
      (l) =>
        l.startsWith("ERROR") && l.includes("/k/b") && l.includes("keeping the last good file"),
    ),
  );
  t.runner.close();
});

// The backoff applies to retries of the same failing render; a new change
// must not wait for it (here the pending retry is seconds away).
for (const failing of ["check", "reload"] as const) {
  test(`a new change during a grown ${failing} backoff renders at once`, async () => {
    const t = setup({ retryInitialMs: 1000, retryMaxMs: 30000 });
    const flag = join(t.dir, "fail");
    writeFileSync(flag, "");
    if (failing === "check") t.resource.checkCmd = `test ! -e ${flag}`;
    else t.resource.reloadCmd = `test ! -e ${flag}`;
    const failed = failing === "check" ? "check-failed" : "reload-failed";
    writeFileSync(t.resource.dest, "old\n");
    t.set("first");
    // Failures at about 0, 1 and 3 s: the next retry is 4 s away.
    await until(() => t.runner.outcomes.filter((o) => o.status === failed).length >= 3);
    await t.runner.idle();
    const attempts = t.runner.outcomes.length;
    rmSync(flag);
    const changedAt = Date.now();
    const retryDue = changedAt + (t.runner.status().retryInMs ?? 0);
    t.set("second");
    await until(() => t.out() === "/k/a=second\n" && t.runner.status().healthy);
    // applied by the change itself: before the backed-off retry was due
    assert.ok(Date.now() < retryDue, `applied ${Date.now() - changedAt} ms after the change`);
    assert.equal(t.runner.outcomes.at(-1)?.status, "updated");
    assert.ok(t.runner.outcomes.length > attempts);
    assert.equal(t.runner.status().retryInMs, undefined, "no retry left pending");
    t.runner.close();
  });
}

test("while the reload keeps failing, a new change still reaches the file at once", async () => {
  const t = setup({ retryInitialMs: 1000, retryMaxMs: 30000 });
  t.resource.reloadCmd = "exit 3";
  t.set("first");
  await until(() => t.runner.outcomes.filter((o) => o.status === "reload-failed").length >= 3);
  await t.runner.idle();
  assert.equal(t.out(), "/k/a=first\n", "the file is in place, only its reload failed");
  const changedAt = Date.now();
  const retryDue = changedAt + (t.runner.status().retryInMs ?? 0);
  t.set("second");
  await until(() => t.out() === "/k/a=second\n");
  assert.ok(Date.now() < retryDue, `applied ${Date.now() - changedAt} ms after the change`);
  await t.runner.idle();
  assert.equal(t.runner.outcomes.at(-1)?.status, "reload-failed", "still reported");
  assert.equal(t.runner.status().healthy, false);
  t.runner.close();
});
