// The manager: resources share one backend snapshot; a change reaches only
// the resources whose keys it touches; a re-list (null) re-renders all; a
// bad resource is skipped while the others work; health follows the
// backend's connection; a key whose value breaks the render or the check is
// left out (named in logs, health and metrics) while the others apply, and
// -freeze-on-bad-key keeps confd's freeze.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  type Backend,
  type BackendStatus,
  type ChangeListener,
  MapView,
} from "../../src/confd/backends/backend.js";
import { memoryLogger } from "../../src/confd/log/logger.js";
import { Manager } from "../../src/confd/manager/manager.js";
import { until } from "./nginx-harness.js";

/** An in-memory Backend (test double of the interface; real backends have their own tests). */
class MemoryBackend implements Backend {
  readonly name = "memory";
  readonly map = new Map<string, string>();
  listeners: ChangeListener[] = [];
  st: BackendStatus = { connected: true };
  started: string[] = [];
  async start(prefixes: string[]): Promise<void> {
    this.started = prefixes;
  }
  view() {
    return new MapView(this.map);
  }
  onChange(l: ChangeListener): void {
    this.listeners.push(l);
  }
  status(): BackendStatus {
    return this.st;
  }
  async close(): Promise<void> {}
  emit(keys: string[] | null): void {
    for (const l of this.listeners) l(keys);
  }
}

function confdir() {
  const dir = mkdtempSync(join(tmpdir(), "confd-mgr-"));
  mkdirSync(join(dir, "conf.d"));
  mkdirSync(join(dir, "templates"));
  writeFileSync(
    join(dir, "templates", "list.tmpl"),
    '{{range gets "/*"}}{{base .Key}}={{.Value}}\n{{end}}',
  );
  const res = (name: string, key: string, extra = "") =>
    writeFileSync(
      join(dir, "conf.d", `${name}.toml`),
      `[template]\nsrc = "list.tmpl"\ndest = "${join(dir, name)}"\nprefix = "${key}"\nkeys = ["/"]\n${extra}`,
    );
  return {
    dir,
    res,
    out: (name: string) =>
      existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8") : "",
  };
}

function manager(dir: string, be: MemoryBackend, extra: { freezeOnBadKey?: boolean } = {}) {
  const log = memoryLogger();
  const m = new Manager(
    be,
    {
      confdir: dir,
      prefix: "",
      noop: false,
      syncOnly: false,
      keepStageFile: false,
      commandTimeoutMs: 10000,
      reloadMinIntervalMs: 0,
      retryMaxMs: 200,
      printDiff: () => {},
      ...extra,
    },
    log,
  );
  return { m, log };
}

test("changes reach only the resources whose keys they touch; a re-list re-renders all", async (t) => {
  const c = confdir();
  c.res("a", "/app/a");
  c.res("b", "/app/b");
  writeFileSync(join(c.dir, "conf.d", "broken.toml"), "[template\n");
  const be = new MemoryBackend();
  be.map.set("/app/a/x", "1");
  be.map.set("/app/b/y", "2");
  const { m, log } = manager(c.dir, be);
  t.after(() => m.close());
  assert.equal(m.loadResources().length, 2);
  assert.equal(m.invalid.length, 1);
  assert.ok(
    log.lines.some((l) => l.includes("broken.toml") && l.includes("other resources continue")),
  );
  await m.start();
  assert.deepEqual(be.started.sort(), ["/app/a", "/app/b"]);
  m.renderAll();
  await until(() => c.out("a") === "x=1\n" && c.out("b") === "y=2\n");
  const [ra, rb] = m.runners;
  await m.idle();
  be.map.set("/app/a/x", "10");
  be.emit(["/app/a/x"]);
  await until(() => c.out("a") === "x=10\n");
  await m.idle();
  assert.equal(ra.renders, 2);
  assert.equal(rb.renders, 1, "b's keys were not touched");
  be.map.set("/app/b/y", "20");
  be.map.delete("/app/a/x");
  be.emit(null);
  await until(() => c.out("a") === "" && c.out("b") === "y=20\n" && existsSync(join(c.dir, "a")));
  assert.equal(m.health().healthy, false, "an invalid resource keeps health red");
});

test("health follows the backend connection and per-resource errors", async (t) => {
  const c = confdir();
  c.res("a", "/app/a");
  const be = new MemoryBackend();
  be.map.set("/app/a/x", "1");
  const { m } = manager(c.dir, be);
  t.after(() => m.close());
  m.loadResources();
  await m.start();
  m.renderAll();
  await until(() => c.out("a") === "x=1\n");
  // the file is written before the apply ends: wait until its success is
  // recorded (health starts healthy, so waiting for that alone is no event)
  await m.idle();
  await until(() => m.health().healthy);
  be.st = { connected: false, lastError: "store connection lost", since: Date.now() };
  const h = m.health();
  assert.equal(h.healthy, false);
  assert.equal(h.backend.lastError, "store connection lost");
  assert.ok(h.resources[0].lastSuccessAt !== undefined);
});

test("a key whose value breaks the render is left out; the others apply; a new value brings it back", async (t) => {
  const c = confdir();
  writeFileSync(
    join(c.dir, "templates", "json.tmpl"),
    '{{range gets "/*"}}{{$d := json .Value}}{{base .Key}}={{$d.port}}\n{{end}}',
  );
  writeFileSync(
    join(c.dir, "conf.d", "a.toml"),
    `[template]\nsrc = "json.tmpl"\ndest = "${join(c.dir, "a")}"\nprefix = "/app/a"\nkeys = ["/"]\n`,
  );
  const be = new MemoryBackend();
  be.map.set("/app/a/p1", '{"port":1}');
  const { m, log } = manager(c.dir, be);
  t.after(() => m.close());
  m.loadResources();
  await m.start();
  m.renderAll();
  await until(() => c.out("a") === "p1=1\n");
  be.map.set("/app/a/p2", "{not json");
  be.map.set("/app/a/p3", '{"port":3}');
  be.emit(["/app/a/p2", "/app/a/p3"]);
  await until(() => c.out("a") === "p1=1\np3=3\n");
  const h = m.health().resources[0];
  assert.equal(h.healthy, true, "the file is right for every other key");
  assert.deepEqual(
    h.excludedKeys?.map((e) => e.key),
    ["/app/a/p2"],
  );
  assert.match(h.excludedKeys?.[0].reason ?? "", /render error: .*invalid character/);
  assert.ok(
    log.lines.some((l) => /leaving \/app\/a\/p2 out of the rendered view/.test(l)),
    log.lines.join("\n"),
  );
  // Another change: the same bad value stays out, without a new failure.
  be.map.set("/app/a/p4", '{"port":4}');
  be.emit(["/app/a/p4"]);
  await until(() => c.out("a") === "p1=1\np3=3\np4=4\n");
  // The pod is fixed: it is back at once.
  be.map.set("/app/a/p2", '{"port":2}');
  be.emit(["/app/a/p2"]);
  await until(() => c.out("a") === "p1=1\np2=2\np3=3\np4=4\n");
  assert.equal(m.health().resources[0].excludedKeys, undefined);
});

test("a template that breaks on every pod is not a bad pod: the last good file stays, nothing left out", async (t) => {
  const c = confdir();
  const tmpl = join(c.dir, "templates", "json.tmpl");
  writeFileSync(tmpl, '{{range gets "/*"}}{{$d := json .Value}}{{base .Key}}={{$d.port}}\n{{end}}');
  writeFileSync(
    join(c.dir, "conf.d", "a.toml"),
    `[template]\nsrc = "json.tmpl"\ndest = "${join(c.dir, "a")}"\nprefix = "/app/a"\nkeys = ["/"]\n`,
  );
  const be = new MemoryBackend();
  for (let i = 0; i < 8; i++) be.map.set(`/app/a/p${i}`, `{"port":${i}}`);
  const { m, log } = manager(c.dir, be);
  t.after(() => m.close());
  m.loadResources();
  await m.start();
  m.renderAll();
  await until(() => c.out("a").split("\n").length === 9);
  const good = c.out("a");
  await m.idle();
  // A template edit that fails on every pod (.port.x on a number).
  writeFileSync(
    tmpl,
    '{{range gets "/*"}}{{$d := json .Value}}{{base .Key}}={{$d.port.x}}\n{{end}}',
  );
  m.renderAll();
  const r = m.runners[0];
  await until(() => r.outcomes.some((o) => o.status === "render-error"));
  assert.equal(c.out("a"), good, "the last good file stays");
  assert.equal(m.health().resources[0].excludedKeys, undefined, "no pod blamed for it");
  assert.ok(
    !log.lines.some((l) => /leaving .* out of the rendered view/.test(l)),
    log.lines.join("\n"),
  );
});

test("a failed check is traced to the key by bisection; -freeze-on-bad-key freezes instead", async (t) => {
  for (const freeze of [false, true]) {
    const c = confdir();
    // The "config check": every value must be a number.
    c.res("a", "/app/a", `check_cmd = "! grep -qv '=[0-9]*$' {{.src}}"\n`);
    const be = new MemoryBackend();
    for (let i = 0; i < 5; i++) be.map.set(`/app/a/old${i}`, String(i));
    const { m, log } = manager(c.dir, be, { freezeOnBadKey: freeze });
    m.loadResources();
    await m.start();
    m.renderAll();
    await until(() => c.out("a").split("\n").length === 6);
    const before = c.out("a");
    const added: string[] = [];
    for (let i = 0; i < 9; i++) {
      const k = `/app/a/new${i}`;
      be.map.set(k, i === 6 ? "abc" : String(i));
      added.push(k);
    }
    be.emit(added);
    const r = m.runners[0];
    if (freeze) {
      await until(() => r.outcomes.some((o) => o.status === "check-failed"));
      assert.equal(c.out("a"), before, "confd's freeze: nothing of the scale-up applies");
      assert.equal(m.health().resources[0].excludedKeys, undefined);
    } else {
      await until(() => c.out("a").split("\n").length === 14);
      assert.ok(!c.out("a").includes("abc"));
      for (const i of [0, 1, 2, 3, 4, 5, 7, 8]) assert.ok(c.out("a").includes(`new${i}=${i}\n`));
      const h = m.health().resources[0];
      assert.deepEqual(
        h.excludedKeys?.map((e) => e.key),
        ["/app/a/new6"],
      );
      assert.match(h.excludedKeys?.[0].reason ?? "", /^check failed/);
      assert.ok(log.lines.some((l) => /leaving \/app\/a\/new6 out .*traced in \d+ checks/.test(l)));
    }
    await m.close();
  }
  t.diagnostic("ok");
});

test("a store change during a grown check backoff renders now, not when the backoff expires", async (t) => {
  const c = confdir();
  const flag = join(c.dir, "fail");
  writeFileSync(flag, "");
  c.res("a", "/app/a", `check_cmd = "test ! -e ${flag}"\n`);
  writeFileSync(join(c.dir, "a"), "old\n");
  const be = new MemoryBackend();
  be.map.set("/app/a/x", "1");
  // The production backoff: 0.5 s doubling, capped at -retry-max (30 s by default).
  const m = new Manager(
    be,
    {
      confdir: c.dir,
      prefix: "",
      noop: false,
      syncOnly: false,
      keepStageFile: false,
      commandTimeoutMs: 10000,
      reloadMinIntervalMs: 0,
      retryMaxMs: 30000,
      printDiff: () => {},
    },
    memoryLogger(),
  );
  t.after(() => m.close());
  m.loadResources();
  await m.start();
  m.renderAll();
  const r = m.runners[0];
  // Failures at about 0, 0.5, 1.5 and 3.5 s: the next retry is 4 s away.
  await until(() => r.outcomes.filter((o) => o.status === "check-failed").length >= 4);
  await m.idle();
  assert.ok((r.status().retryInMs ?? 0) > 0, JSON.stringify(r.status()));
  assert.equal(c.out("a"), "old\n", "the old file stays while the check fails");
  rmSync(flag);
  const changedAt = Date.now();
  // The change must not wait for the backed-off retry the runner has scheduled.
  const retryDue = changedAt + (r.status().retryInMs ?? 0);
  be.map.set("/app/a/x", "2");
  be.emit(["/app/a/x"]);
  await until(() => c.out("a") === "x=2\n");
  assert.ok(Date.now() < retryDue, `applied ${Date.now() - changedAt} ms after the change`);
  await until(() => m.health().resources[0].healthy);
});
