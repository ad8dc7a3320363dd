// 200 domeize processes started at the same instant on one host, NEED_PORTS=2
// in a 500-port range, each exec'ing an app that binds both ports (TCP and
// UDP) and holds them: zero duplicates and zero bind failures. Then the same
// with two domeize containers per pod.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { after, before, test } from "node:test";
import {
  buildBinder,
  collect,
  podEnv,
  ReportServer,
  ROOT,
  type RunResult,
  removeDir,
  startDomeize,
  tempDir,
  until,
} from "./helpers.js";

const N = 200;
// A 1000-port block per run, picked at random below the ephemeral range and
// away from the ranges other tests use (20000-20999, 24000-24499), with a
// state directory shared per block: two runs of this test on one machine
// (a developer's and CI's) then respect each other's claims instead of
// racing for the same ports through separate directories.
const BLOCKS = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 25, 26, 28, 29, 30, 31].map(
  (k) => k * 1000,
);
const BASE = BLOCKS[Math.floor(Math.random() * BLOCKS.length)];
let dir: string;
let binder: string;
let bundle: string;
let server: ReportServer;
let serverProc: ChildProcess;
let serverOut = "";

before(async () => {
  dir = tempDir();
  const built = buildBinder(dir);
  assert.ok(
    built,
    "the Go test app (test/domeize/fixtures/binder.go) must build: is Go installed?",
  );
  binder = built;
  // The single-file bundle, built fresh: half the CPU of the multi-file
  // build per process, which matters with hundreds starting at once, and
  // it is the artifact images ship.
  const { build } = await import("esbuild");
  bundle = `${dir}/domeize.cjs`;
  await build({
    entryPoints: [`${ROOT}/src/domeize/main.ts`],
    outfile: bundle,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    logLevel: "warning",
  });
  serverProc = spawn(process.execPath, [`${ROOT}/dist/test/domeize/report-server-main.js`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  serverProc.stdout?.on("data", (c) => {
    serverOut += c;
  });
  await until(() => serverOut.includes("\n"), 30_000, "the report server");
  server = new ReportServer();
  server.port = Number(serverOut.split("\n")[0]);
});

after(() => {
  serverProc.kill();
  removeDir(dir);
});

function reports(): { url: string; body: string }[] {
  return serverOut
    .split("\n")
    .slice(1)
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

async function burst(label: string, start: number, pod: (i: number) => Record<string, string>) {
  const results = `${dir}/${label}.results`;
  const stateDir = `${tmpdir()}/domeize-test-state-${start}`;
  const children: ChildProcess[] = [];
  const done: Promise<RunResult>[] = [];
  for (let i = 0; i < N; i++) {
    const env = podEnv(server, stateDir, {
      AVAILABLE_PORT_START: String(start),
      AVAILABLE_PORT_END: String(start + 499),
      ...pod(i),
      DOMEIZE_MAIN: bundle,
    });
    const child = startDomeize([binder, results], env);
    children.push(child);
    done.push(collect(child));
  }
  const lines = () =>
    existsSync(results) ? readFileSync(results, "utf8").split("\n").filter(Boolean) : [];
  let finished = 0;
  for (const d of done) void d.then(() => finished++);
  try {
    await until(() => lines().length + finished >= N, 600_000, `${N} apps to bind their ports`);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${lines().length} bound, ${finished} exited`);
  } finally {
    for (const c of children) c.kill("SIGTERM");
  }
  const runs = await Promise.all(done);
  const got = lines();
  const failures = got.filter((l) => !l.startsWith("OK"));
  assert.deepEqual(failures, [], "no app failed to bind its ports");
  // The binder exits 0 on SIGTERM; anything else means domeize failed first.
  const bad = runs.filter((r) => r.code !== 0);
  assert.deepEqual(bad.map((r) => `${r.code} ${r.signal} ${r.stderr.trim()}`).slice(0, 3), []);
  const pids = new Set(children.map((c) => String(c.pid)));
  assert.ok(
    got.every((l) => pids.has(l.split(" ")[1])),
    "each app runs as its launcher's process (exec)",
  );
  assert.equal(got.length, N);
  const ports = got.flatMap((l) => l.split(" ").slice(2).map(Number));
  assert.equal(ports.length, 2 * N);
  assert.equal(new Set(ports).size, 2 * N, "no port was handed out twice");
  for (const p of ports) assert.ok(p >= start && p <= start + 499, `port ${p} in range`);
  return ports;
}

test(`${N} concurrent pods, NEED_PORTS=2, 500-port range: no duplicate, no bind failure`, {
  timeout: 900_000,
}, async () => {
  const before = reports().length;
  await burst("single", BASE, (i) => ({ MY_POD_NAME: `pod-${i}` }));
  assert.equal(reports().length - before, N, "one report per pod");
});

test(`${N / 2} pods x 2 domeize containers: every container gets its own ports and keys`, {
  timeout: 900_000,
}, async () => {
  const before = reports().length;
  await burst("pairs", BASE + 500, (i) => ({
    MY_POD_NAME: `pod-${i >> 1}`,
    ...(i % 2 === 1 ? { DOMEIZE_CONTAINER: "sidecar" } : {}),
  }));
  const keys = new Set(
    reports()
      .slice(before)
      .flatMap((r) => Object.keys(JSON.parse(r.body))),
  );
  assert.deepEqual([...keys].sort(), [
    "AUTO_PORT0",
    "AUTO_PORT0_sidecar",
    "AUTO_PORT1",
    "AUTO_PORT1_sidecar",
  ]);
});
