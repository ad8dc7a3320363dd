// `domeize probe`: the kubelet's exec probes read the ports domeize chose
// from the state dir (no manifest can name them). A real domeize (the
// launcher) starts a real app; the probes run as separate processes with the
// container's environment, as the kubelet runs them.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import {
  collect,
  LAUNCHER,
  podEnv,
  ReportServer,
  removeDir,
  runDomeize,
  startDomeize,
  tempDir,
  until,
} from "./helpers.js";

const dir = tempDir("domeize-probe-");
const server = new ReportServer();
before(async () => {
  await server.start();
});
after(async () => {
  await server.stop();
  removeDir(dir);
});

// Listens on AUTO_PORT0 at once and on AUTO_PORT1 only once the test creates GO.
const APP = `
const net = require("node:net"), fs = require("node:fs");
// AUTO_PORT0 speaks HTTP: /ok answers 200, anything else 503.
require("node:http").createServer((q, s) => { s.statusCode = q.url === "/ok" ? 200 : 503; s.end(); })
  .listen(Number(process.env.AUTO_PORT0), "127.0.0.1");
const t = setInterval(() => {
  if (!fs.existsSync(process.env.GO)) return;
  clearInterval(t);
  net.createServer((s) => s.end()).listen(Number(process.env.AUTO_PORT1), "127.0.0.1", () =>
    fs.writeFileSync(process.env.GO + ".up", "1"));
}, 20);
`;

async function probe(args: string[], env: NodeJS.ProcessEnv) {
  return runDomeize(["probe", ...args], env);
}

async function probeUntil(args: string[], env: NodeJS.ProcessEnv, code: number, what: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await probe(args, env);
    if (r.code === code) return r;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

test("probe ready/live follow the app's ports from the state dir", async () => {
  const go = `${dir}/go`;
  const env = podEnv(server, `${dir}/state`, { GO: go });
  const before = await probe(["ready"], env);
  assert.equal(before.code, 1, before.stderr);
  assert.match(before.stderr, /0 of NEED_PORTS=2 ports recorded .*c1~ns1~pod-a~_/);

  const app = startDomeize([process.execPath, "-e", APP], env);
  const done = collect(app);
  try {
    await until(() => server.annotations().length === 1, 20_000, "the report");
    const notYet = await probeUntil(["ready"], env, 1, "ready to fail on AUTO_PORT1");
    assert.match(notYet.stderr, /port \d+ does not accept connections on 127\.0\.0\.1/);
    // The deployment's own checks on one port (what generated manifests pass).
    await probeUntil(["ready", "tcp", "0"], env, 0, "tcp 0");
    assert.equal((await probe(["ready", "http", "0", "/ok"], env)).code, 0);
    const http503 = await probe(["live", "http", "0", "/nope"], env);
    assert.equal(http503.code, 1);
    assert.match(http503.stderr, /GET \/nope on port \d+: HTTP 503/);
    assert.equal((await probe(["ready", "tcp", "1"], env)).code, 1);
    const beyond = await probe(["ready", "tcp", "2"], env);
    assert.match(beyond.stderr, /AUTO_PORT2: the container has 2 ports/);
    writeFileSync(go, "1");
    await until(() => existsSync(`${go}.up`), 20_000, "the second listener");
    const ready = await probe(["ready"], env);
    assert.equal(ready.code, 0, ready.stderr);
    assert.equal((await probe(["live"], env)).code, 0);
    // Another container of the same node (other pod name) has no ports here.
    const other = await probe(["ready"], { ...env, MY_POD_NAME: "pod-b" });
    assert.equal(other.code, 1);
  } finally {
    app.kill("SIGKILL");
    await done;
  }
  // The app is gone: its claims are dead and nothing listens.
  const dead = await probe(["ready"], env);
  assert.equal(dead.code, 1);
  assert.match(dead.stderr, /gone|does not accept/);
  assert.equal((await probe(["live"], env)).code, 1);
});

test("probe drain waits; bad usage exits 2 naming the problem", async () => {
  const t0 = Date.now();
  const drained = await probe(["drain", "300ms"], { PATH: process.env.PATH });
  assert.equal(drained.code, 0, drained.stderr);
  assert.ok(Date.now() - t0 >= 300);
  for (const [args, re] of [
    [["drain"], /"drain" needs a duration like 15s/],
    [["drain", "15"], /"drain" needs a duration like 15s, got "15"/],
    [["nope"], /unknown probe "nope"/],
    [[], /which probe\?/],
    [["ready", "x"], /ready: bad check "x": expected tcp N or http N \/PATH/],
    [["live", "http", "0", "no-slash"], /live: bad check/],
    [["drain", "1s", "extra"], /unexpected arguments/],
    [["install", "rel/path"], /needs an absolute DEST/],
  ] as const) {
    const r = await probe([...args], { PATH: process.env.PATH });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /Usage: domeize probe ready/);
  }
  // Under node, there is no self-contained executable to copy.
  const inst = await probe(["install", `${dir}/domeize-copy`], { PATH: process.env.PATH });
  assert.equal(inst.code, 2);
  assert.match(inst.stderr, /install copies the self-contained domeize executable/);
  assert.equal(existsSync(`${dir}/domeize-copy`), false);
  // A bad environment is reported as domeize reports it (exit 3).
  const badEnv = await probe(["ready"], { PATH: process.env.PATH, NEED_PORTS: "-1" });
  assert.equal(badEnv.code, 3);
  assert.match(badEnv.stderr, /invalid NEED_PORTS="-1"/);
  assert.ok(LAUNCHER.endsWith("bin/domeize"));
});

// The injection init container's copy, with the self-contained executable
// (built by npm run build when its toolchain is present).
const EXE = `${LAUNCHER.slice(0, -"bin/domeize".length)}dist/bin/domeize-linux-x64`;
test("probe install copies the self-contained executable, which then runs", {
  skip: !existsSync(EXE) && "dist/bin/domeize-linux-x64 not built",
}, async () => {
  const dest = `${dir}/inject/domeize`;
  mkdirSync(`${dir}/inject`);
  const run = (cmd: string, args: string[]) =>
    collect(
      spawn(cmd, args, { env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] }),
    );
  const inst = await run(EXE, ["probe", "install", dest]);
  assert.equal(inst.code, 0, inst.stderr);
  assert.equal(statSync(dest).mode & 0o777, 0o755);
  assert.equal(statSync(dest).size, statSync(EXE).size);
  const drained = await run(dest, ["probe", "drain", "10ms"]);
  assert.equal(drained.code, 0, drained.stderr);
});
