// domeos-confd as a process, end to end with the file backend: the seed's
// resource and template, -onetime exit status, bad resources next to good
// ones, flags over the config file, -noop diffs, and watch mode with
// /healthz and /metrics.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CONFD_GOLDEN as GOLDEN, REPO_ROOT } from "../support/fixtures.js";
import { until } from "../support/poll.js";
import { freePort } from "../support/ports.js";
import { runConfd } from "./nginx-harness.js";

const MAIN = join(REPO_ROOT, "dist", "src", "confd", "main.js");

/** A confdir with the seed's nginx.toml (paths pointed at a scratch dir) and the 12-pod data as YAML-able JSON. */
function seedConfdir() {
  const dir = mkdtempSync(join(tmpdir(), "confd-e2e-"));
  mkdirSync(join(dir, "conf.d"));
  mkdirSync(join(dir, "templates"));
  mkdirSync(join(dir, "out"));
  writeFileSync(
    join(dir, "templates", "upstream.tmpl"),
    readFileSync(join(GOLDEN, "upstream.tmpl")),
  );
  const dest = join(dir, "out", "upstream.conf");
  writeFileSync(
    join(dir, "conf.d", "nginx.toml"),
    `[template]\nsrc = "upstream.tmpl"\ndest = "${dest}"\nkeys = [\n "/registry/pods/default",\n]\n  \nowner = "root"\nmode = "0644"\ncheck_cmd = "test -s {{.src}}"\nreload_cmd = "echo reloaded >> ${join(dir, "reloads")}"\n`,
  );
  const pods = JSON.parse(readFileSync(join(GOLDEN, "pods-12.json"), "utf8")) as Record<
    string,
    string
  >;
  const data = { registry: { pods: { default: {} as Record<string, string> } } };
  for (const [k, v] of Object.entries(pods))
    data.registry.pods.default[k.split("/").pop() as string] = v;
  const dataFile = join(dir, "pods.json");
  writeFileSync(dataFile, JSON.stringify(data));
  const base = [
    "-backend",
    "file",
    "-file",
    dataFile,
    "-confdir",
    dir,
    "-config-file",
    join(dir, "none.toml"),
  ];
  return { dir, dest, dataFile, data, base };
}

test("-onetime renders the seed template from the file backend byte for byte, exit 0", async () => {
  const s = seedConfdir();
  const r = await runConfd(["-onetime", ...s.base]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    readFileSync(s.dest, "utf8"),
    readFileSync(join(GOLDEN, "upstream-12pods.conf"), "utf8"),
  );
  assert.match(r.stderr, /INFO Target config .*upstream.conf has been updated/);
  assert.equal(readFileSync(join(s.dir, "reloads"), "utf8"), "reloaded\n");
  // Second run: in sync, no reload.
  const again = await runConfd(["-onetime", ...s.base]);
  assert.equal(again.code, 0);
  assert.equal(readFileSync(join(s.dir, "reloads"), "utf8"), "reloaded\n");
});

test("bad TOML and a missing template: clear errors, other resources still render, exit 1", async () => {
  const s = seedConfdir();
  writeFileSync(join(s.dir, "conf.d", "aaa-broken.toml"), "[template\nsrc = ");
  writeFileSync(
    join(s.dir, "conf.d", "bbb-missing.toml"),
    `[template]\nsrc = "nope.tmpl"\ndest = "${join(s.dir, "out", "x")}"\nkeys = ["/x"]\n`,
  );
  const r = await runConfd(["-onetime", ...s.base]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /aaa-broken.toml: invalid TOML/);
  assert.match(r.stderr, /Missing template: .*nope.tmpl/);
  assert.equal(
    readFileSync(s.dest, "utf8"),
    readFileSync(join(GOLDEN, "upstream-12pods.conf"), "utf8"),
  );
});

test("a malformed pod: left out and named, the others render, exit 0; -freeze-on-bad-key: the last good file stays, exit 1", async () => {
  const s = seedConfdir();
  s.data.registry.pods.default["broken-pod"] = '{"metadata": {"annotations": null}}';
  writeFileSync(s.dataFile, JSON.stringify(s.data));
  const isolated = await runConfd(["-onetime", ...s.base]);
  assert.equal(isolated.code, 0, isolated.stderr);
  assert.match(
    isolated.stderr,
    /leaving \/registry\/pods\/default\/broken-pod out of the rendered view: render error: .*nil pointer evaluating interface \{\}\.accessType/,
  );
  assert.equal(
    readFileSync(s.dest, "utf8"),
    readFileSync(join(GOLDEN, "upstream-12pods.conf"), "utf8"),
  );
  rmSync(s.dest);
  delete s.data.registry.pods.default["broken-pod"];
  writeFileSync(s.dataFile, JSON.stringify(s.data));
  assert.equal((await runConfd(["-onetime", ...s.base])).code, 0);
  s.data.registry.pods.default["broken-pod"] = '{"metadata": {"annotations": null}}';
  writeFileSync(s.dataFile, JSON.stringify(s.data));
  const r = await runConfd(["-onetime", "-freeze-on-bad-key", ...s.base]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /nil pointer evaluating interface \{\}\.accessType.*while processing key \/registry\/pods\/default\/broken-pod/,
  );
  assert.equal(
    readFileSync(s.dest, "utf8"),
    readFileSync(join(GOLDEN, "upstream-12pods.conf"), "utf8"),
  );
});

test("flags override the config file; -noop prints a unified diff and writes nothing", async () => {
  const s = seedConfdir();
  const cfg = join(s.dir, "confd.toml");
  writeFileSync(cfg, "noop = true\n");
  const base = s.base.filter((a, i) => a !== "-config-file" && s.base[i - 1] !== "-config-file");
  const noop = await runConfd(["-onetime", ...base, "-config-file", cfg]);
  assert.equal(noop.code, 0, noop.stderr);
  assert.equal(existsSync(s.dest), false, "config noop = true: nothing written");
  assert.match(
    noop.stdout,
    /^--- .*upstream.conf\n\+\+\+ .*upstream.conf \(new\)\n@@ -0,0 \+1,21 @@\n\+upstream img_cs_group/,
  );
  const forced = await runConfd(["-onetime", ...base, "-config-file", cfg, "-noop=false"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(existsSync(s.dest), true, "-noop=false on the command line wins over the file");
});

test("-version, -h and bad flags", async () => {
  assert.match(
    (await runConfd(["-version"])).stdout,
    /^domeos-confd .*confd 0.17.0-dev compatible/,
  );
  const h = await runConfd(["-h"]);
  assert.equal(h.code, 0);
  assert.match(h.stderr, /-confdir string/);
  const bad = await runConfd(["-bogus"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /flag provided but not defined: -bogus/);
});

/** How the -watch and -interval tests poll the destination file. */
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };

test("-watch with the file backend follows edits; /healthz and /metrics report; SIGTERM exits 0", async () => {
  const s = seedConfdir();
  const port = await freePort();
  let stderr = "";
  const p: ChildProcess = spawn(process.execPath, [
    MAIN,
    "-watch",
    ...s.base,
    "-metrics-addr",
    `127.0.0.1:${port}`,
  ]);
  p.stderr?.on("data", (d) => {
    stderr += d;
  });
  try {
    await until(
      "the first render",
      () => existsSync(s.dest) && readFileSync(s.dest, "utf8").includes("10.16.0.7:20007"),
      WAIT,
    );
    const pods = s.data.registry.pods.default;
    const first = Object.keys(pods).find((k) => pods[k].includes('"podIP":"10.16.0.7"')) as string;
    pods[first] = pods[first].replace('"AUTO_PORT0":"20007"', '"AUTO_PORT0":"29999"');
    writeFileSync(s.dataFile, JSON.stringify(s.data));
    await until(
      "the edited port rendered",
      () => readFileSync(s.dest, "utf8").includes("server 10.16.0.7:29999;"),
      WAIT,
    );
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { healthy: boolean; backend: { connected: boolean } };
    assert.equal(body.healthy, true);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /confd_renders_total\{resource=".*upstream.conf",result="updated"\} 2/);
    assert.match(metrics, /confd_change_to_file_seconds_count\{resource=".*upstream.conf"\} [12]/);
    assert.match(metrics, /confd_watch_connected\{backend="file"\} 1/);
  } finally {
    const exited = new Promise<number | null>((r) => p.on("close", (code) => r(code)));
    p.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
  }
  assert.match(stderr, /Captured terminated. Exiting.../);
});

test("interval mode (confd's default) re-renders each pass and restores a deleted destination", async () => {
  const s = seedConfdir();
  let stderr = "";
  const p: ChildProcess = spawn(process.execPath, [MAIN, ...s.base, "-interval", "1"]);
  p.stderr?.on("data", (d) => {
    stderr += d;
  });
  try {
    await until("the destination", () => existsSync(s.dest), WAIT);
    rmSync(s.dest);
    await until("the deleted destination restored", () => existsSync(s.dest), WAIT);
    assert.equal(
      readFileSync(s.dest, "utf8"),
      readFileSync(join(GOLDEN, "upstream-12pods.conf"), "utf8"),
    );
  } finally {
    const exited = new Promise<number | null>((r) => p.on("close", (code) => r(code)));
    p.kill("SIGINT");
    assert.equal(await exited, 0, stderr);
  }
});
