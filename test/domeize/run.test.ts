// Running the app: exec mode (the app replaces the launcher: same pid),
// exit codes, 126/127, and resident mode (tails) forwarding every signal,
// 128+signal, SIGKILL after the grace period.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { after, before, test } from "node:test";
import { EXIT } from "../../src/domeize/exit.js";
import { launcherTcpTables, PortsInUse, parseProcNet } from "../../src/domeize/ports/procnet.js";
import { renderPlan, shellQuote } from "../../src/domeize/run/plan.js";
import { freePort } from "../support/ports.js";
import {
  baseEnv,
  collect,
  DOMEIZE,
  LAUNCHER_ONLY,
  podEnv,
  ReportServer,
  ROOT,
  removeDir,
  runDomeize,
  startDomeize,
  TARGET,
  tempDir,
  until,
} from "./helpers.js";

let dir: string;
before(() => {
  dir = tempDir();
});
after(() => removeDir(dir));

test("shell quoting survives every byte a value can hold", async () => {
  const tricky = `a'b"c$d\`e\\f\ng h;i|j&k*`;
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  const r = await runDomeize(["sh", "-c", 'printf "%s" "$1"', "sh", tricky], baseEnv({}));
  assert.equal(r.code, 0);
  assert.equal(r.stdout, tricky);
  assert.match(
    renderPlan({
      remove: ["/tmp/p"],
      environment: { kind: "exports", exports: { A: "1" } },
      argv: [],
    }).toString(),
    /export A='1'\nexit 0/,
  );
});

test("exec mode: the app replaces the launcher (same pid) and its exit code is ours", async () => {
  const child = startDomeize(["sh", "-c", "echo $$; exit 42"], baseEnv({}));
  const r = await collect(child);
  assert.equal(r.code, 42);
  assert.equal(r.stdout.trim(), String(child.pid), "the app runs as the launcher's process");
});

test("command not found: 127; not executable: 126", async () => {
  const nf = await runDomeize(["/nonexistent/app"], baseEnv({}));
  assert.equal(nf.code, EXIT.notFound);
  assert.match(nf.stderr, /command not found: \/nonexistent\/app/);
  const script = `${dir}/noexec.sh`;
  writeFileSync(script, "#!/bin/sh\necho hi\n", { mode: 0o644 });
  const ne = await runDomeize([script], baseEnv({}));
  assert.equal(ne.code, EXIT.notExecutable);
});

test("exec mode: a signal kills the app directly (exit by signal, no wrapper left)", async () => {
  const child = startDomeize(["sh", "-c", "echo ready; exec sleep 30"], baseEnv({}));
  let out = "";
  child.stdout?.on("data", (c) => {
    out += c;
  });
  const done = collect(child);
  await until(() => out.includes("ready"), 20_000, "the app");
  child.kill("SIGTERM");
  const r = await done;
  assert.equal(r.signal, "SIGTERM");
});

const TRAP_APP = `
trap 'echo got-USR1' USR1
trap 'echo got-HUP' HUP
trap 'echo got-TERM; exit 7' TERM
echo ready
while :; do sleep 0.05; done
`;

test("resident mode (tailing): every signal is forwarded, app's exit code returned", async () => {
  const log = `${dir}/app.log`;
  writeFileSync(log, "");
  const child = startDomeize(["-stdout", log, "-poll", "sh", "-c", TRAP_APP], baseEnv({}));
  let out = "";
  child.stdout?.on("data", (c) => {
    out += c;
  });
  const done = collect(child);
  await until(() => out.includes("ready"), 20_000, "the app");
  child.kill("SIGUSR1");
  await until(() => out.includes("got-USR1"), 10_000, "USR1 forwarded");
  child.kill("SIGHUP");
  await until(() => out.includes("got-HUP"), 10_000, "HUP forwarded");
  child.kill("SIGUSR1");
  await until(() => out.split("got-USR1").length === 3, 10_000, "a second USR1 forwarded");
  child.kill("SIGTERM");
  const r = await done;
  assert.match(out, /got-TERM/);
  assert.equal(r.code, 7);
});

test("resident mode: app killed by a signal gives 128+signal", async () => {
  const r = await runDomeize(["-stdout", "/dev/null", "sh", "-c", "kill -s KILL $$"], baseEnv({}));
  assert.equal(r.code, 137);
});

/** Whether a process exists (a zombie counts: its parent or init reaps it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A resident domeize running a TERM-ignoring app that writes its pid to
 * `pidFile` once its trap is set. wait() resolves on domeize's 'exit' (not
 * 'close': an orphaned app would hold the pipes), within `limitMs`, then
 * requires the app to be gone; whatever fails, both are ended by pid, so a
 * failure is a failure and never a hung test file.
 */
function termIgnoringApp(pidFile: string, graceMs: number) {
  const app = `trap '' TERM; echo $$ > ${pidFile}; echo ready; while :; do sleep 0.05; done`;
  // -stdout makes both the executable and the Node program resident.
  const child = startDomeize(
    ["-stdout", "/dev/null", "-grace-period", `${graceMs}ms`, "sh", "-c", app],
    baseEnv({}),
    TARGET !== "exe",
  );
  const exited = new Promise<[number | null, string | null]>((r) =>
    child.once("exit", (c, s) => r([c, s])),
  );
  const appPid = () => {
    try {
      return Number(readFileSync(pidFile, "utf8")) || undefined;
    } catch {
      return undefined; // not started (yet)
    }
  };
  const wait = async (limitMs: number, what: string) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const [code, signal] = await Promise.race([
        exited,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new Error(`${what}: domeize still running`)), limitMs);
        }),
      ]);
      const pid = appPid();
      // Its parent is gone: a zombie left to init is reaped at once.
      if (pid !== undefined) await until(() => !alive(pid), 5_000, `${what}: app ${pid} gone`);
      return { code, signal };
    } finally {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      const pid = appPid();
      if (pid !== undefined && alive(pid)) process.kill(pid, "SIGKILL");
      child.stdout?.destroy();
      child.stderr?.destroy();
    }
  };
  return { child, wait };
}

test("resident mode: SIGKILL after the grace period when the app ignores SIGTERM", async () => {
  const run = termIgnoringApp(`${dir}/grace.pid`, 300);
  let out = "";
  run.child.stdout?.on("data", (c) => {
    out += c;
  });
  let err = "";
  run.child.stderr?.on("data", (c) => {
    err += c;
  });
  try {
    await until(() => out.includes("ready"), 20_000, "the app");
  } finally {
    run.child.kill("SIGTERM");
  }
  const r = await run.wait(60_000, "SIGTERM to a TERM-ignoring app");
  assert.equal(r.code, 137, err);
  assert.match(err, /SIGKILL/);
});

test("resident mode: a SIGTERM at any moment of the start never leaves the app running unsupervised", async (t) => {
  // Before domeize's handlers: it dies of the signal with no app started;
  // after: the start is cancelled (143), or the app is TERMed (143) or,
  // ignoring TERM once its trap is set, KILLed after the grace period (137).
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 25; i++) {
    const run = termIgnoringApp(`${dir}/early-${i}.pid`, 200);
    await new Promise<void>((r) => run.child.once("spawn", () => r()));
    // At once, then later each round, across the start-up and the app's own
    // (Node starts slower than the executable).
    const step = TARGET === "exe" ? 15 : 50;
    if (i > 0) await new Promise((r) => setTimeout(r, (i % 10) * step));
    run.child.kill("SIGTERM");
    const { code, signal } = await run.wait(30_000, `round ${i}`);
    const what = signal !== null ? `signal ${signal}` : `exit ${code}`;
    assert.ok(signal === "SIGTERM" || code === 143 || code === 137, `round ${i}: ${what}`);
    outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
  }
  // Which moments a run hit depends on the machine's load: reported, not asserted.
  t.diagnostic(JSON.stringify(Object.fromEntries(outcomes)));
});

test("no command: prepare only, exit 0", async () => {
  const r = await runDomeize(["-timeout", "1s"], baseEnv({}));
  assert.equal(r.code, 0);
});

test("a signal during preparation (waiting for a dependency) stops domeize promptly", async () => {
  const port = await freePort();
  const child = startDomeize(
    ["-timeout", "60s", "-wait", `tcp://127.0.0.1:${port}`, "true"],
    baseEnv({ DOMEIZE_TRACE: "1" }),
  );
  let err = "";
  child.stderr?.on("data", (c) => {
    err += c;
  });
  const done = collect(child);
  // The event, not a guess at how long start-up takes on a loaded machine:
  // the last phase before waiting (the launcher forwards signals by then).
  await until(() => err.includes("domeize trace: rendered"), 30_000, "the wait to begin");
  const t0 = Date.now();
  child.kill("SIGTERM");
  const r = await done;
  assert.ok(Date.now() - t0 < 10_000, "stopped long before -timeout");
  assert.notEqual(r.code, 0);
});

test(
  "launcher with NEED_PORTS: /proc/net's TCP tables copied in the background, used, removed; the app inherits no child",
  LAUNCHER_ONLY,
  async () => {
    const server = await new ReportServer().start();
    try {
      const tmp = `${dir}/scan-tmp`;
      mkdirSync(tmp);
      const env = podEnv(server, `${dir}/scan-state`, { TMPDIR: tmp, DOMEIZE_TRACE: "1" });
      // read is a builtin: no child of the app's own in the list.
      const app = ["sh", "-c", 'read -r kids < /proc/$$/task/$$/children; echo "children=[$kids]"'];
      const r = await runDomeize(app, env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /launcher's tcp tables read/);
      assert.equal(r.stdout, "children=[]\n", "the copying job was reaped before the exec");
      assert.deepEqual(readdirSync(tmp), [], "plan and copy removed");
      // A failure before the ports (bad template): nothing left either.
      const bad = await runDomeize(["-template", `${dir}/missing.tmpl:${dir}/x`, "true"], env);
      assert.equal(bad.code, EXIT.template);
      assert.deepEqual(readdirSync(tmp), []);
    } finally {
      await server.stop();
    }
  },
);

test("the launcher's copy is used only when complete and cat succeeded", () => {
  const file = `${dir}/copy.net`;
  const head =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
  const line =
    "   0: 0100007F:4E21 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n";
  writeFileSync(file, `${head}${line}${head}# domeize-scan end 0\n`);
  const text = launcherTcpTables(file, undefined);
  assert.equal(text, `${head}${line}${head}`);
  assert.ok(parseProcNet(text ?? "", new PortsInUse()).hard(20001));
  writeFileSync(file, `${head}${line}# domeize-scan end 1\n`);
  assert.equal(launcherTcpTables(file, undefined), undefined, "cat failed (no tcp6): read here");
  writeFileSync(file, `${head}${line}`);
  assert.equal(launcherTcpTables(file, undefined), undefined, "incomplete, no job: read here");
  const t0 = Date.now();
  assert.equal(
    launcherTcpTables(file, process.pid, 50),
    undefined,
    "incomplete while the job runs: waits, then gives up",
  );
  assert.ok(Date.now() - t0 >= 45);
  assert.equal(launcherTcpTables(`${dir}/absent.net`, process.pid), undefined);
});

test("launcher: the app's environment is the caller's plus AUTO_PORTs (no launcher variable leaks or clobbers)", async () => {
  const env = baseEnv({ dir: "keep", main: "keep", plan: "keep", rc: "keep", TMPDIR: dir });
  const r = await runDomeize(["env"], env);
  assert.equal(r.code, 0, r.stderr);
  const got = Object.fromEntries(
    r.stdout
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  for (const k of ["dir", "main", "plan", "rc"]) assert.equal(got[k], "keep", k);
  assert.deepEqual(
    Object.keys(got).filter((k) => /^(_dz_|DOMEIZE_(PLAN|NETSCAN))/.test(k)),
    [],
    "no launcher variable reaches the app",
  );
});

test(
  "launcher: a Node part that writes an old-style plan (rm line, files left) still works, nothing left",
  LAUNCHER_ONLY,
  async () => {
    const tmp = `${dir}/old-plan-tmp`;
    mkdirSync(tmp);
    const fake = `${dir}/old-node.sh`;
    // Stands in for an older domeize.cjs: ignores DOMEIZE_PLAN_FD and the copy.
    writeFileSync(
      fake,
      `#!/bin/sh\nprintf "rm -f -- '%s'\\nexport X='old plan'\\nexec sh -c 'echo \\"\\$X\\"'\\n" "$DOMEIZE_PLAN_FILE" >"$DOMEIZE_PLAN_FILE"\n`,
      { mode: 0o755 },
    );
    const env = baseEnv({ TMPDIR: tmp, DOMEIZE_NODE: fake, NEED_PORTS: "2" });
    const r = await runDomeize(["ignored"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "old plan\n");
    assert.deepEqual(readdirSync(tmp), [], "plan and /proc/net copy removed");
  },
);

test(
  "the shipped bundle (scripts/bundle-domeize.mjs): runs the whole flow from its code cache, and without it",
  LAUNCHER_ONLY,
  async () => {
    const out = `${dir}/bundle/domeize.cjs`;
    execFileSync(process.execPath, [`${ROOT}/scripts/bundle-domeize.mjs`], {
      env: { PATH: process.env.PATH, DOMEIZE_BUNDLE_OUT: out },
      stdio: "pipe",
    });
    const server = await new ReportServer().start();
    try {
      writeFileSync(`${dir}/bundle.tmpl`, '{{ .Env.AUTO_PORT0 | atoi | add 1 }} {{ upper "x" }}\n');
      const env = podEnv(server, `${dir}/bundle-state`, { DOMEIZE_MAIN: out, DOMEIZE_TRACE: "1" });
      const args = [
        "-template",
        `${dir}/bundle.tmpl:${dir}/bundle.out`,
        "cat",
        `${dir}/bundle.out`,
      ];
      const r = await runDomeize(args, env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /code cache used/);
      const port = Number(JSON.parse(server.annotations()[0].body).AUTO_PORT0);
      assert.equal(r.stdout, `${port + 1} X\n`);
      // A cache of another build is ignored (checked by hash), not trusted.
      const cache = readFileSync(`${out}.cache`);
      cache.write("0".repeat(64), 0, "latin1");
      writeFileSync(`${out}.cache`, cache);
      const stale = await runDomeize(args, env);
      assert.equal(stale.code, 0, stale.stderr);
      assert.match(stale.stderr, /code cache absent or stale/);
      assert.equal(stale.stdout, r.stdout);
    } finally {
      await server.stop();
    }
  },
);

test("descriptors the caller passes (socket activation: fd 3 up) reach the app untouched", async () => {
  const server = await new ReportServer().start();
  try {
    const tmp = `${dir}/fd-tmp`;
    mkdirSync(tmp);
    const env = podEnv(server, `${dir}/fd-state`, { TMPDIR: tmp });
    const app = ["sh", "-c", "echo on-fd-3 >&3; echo on-fd-9 >&9"];
    const child = spawn(DOMEIZE, app, {
      env,
      stdio: [
        "ignore",
        "pipe",
        "pipe",
        "pipe",
        "ignore",
        "ignore",
        "ignore",
        "ignore",
        "ignore",
        "pipe",
      ],
    });
    let fd3 = "";
    let fd9 = "";
    const pipes = child.stdio as unknown as (Readable | null)[];
    pipes[3]?.on("data", (c) => {
      fd3 += c;
    });
    pipes[9]?.on("data", (c) => {
      fd9 += c;
    });
    const r = await collect(child);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fd3, "on-fd-3\n");
    assert.equal(fd9, "on-fd-9\n");
    assert.deepEqual(readdirSync(tmp), []);
    // Every descriptor 3-9 taken: the plan is read by name, still nothing left.
    const all = spawn(DOMEIZE, ["sh", "-c", "echo ran"], {
      env,
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe"],
    });
    const r2 = await collect(all);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout, "ran\n");
    assert.deepEqual(readdirSync(tmp), []);
  } finally {
    await server.stop();
  }
});
