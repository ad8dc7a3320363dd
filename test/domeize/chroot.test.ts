// The self-contained executable in an image that has nothing else: a
// chroot (inside an unshared mount namespace, with /proc mounted there)
// holding only the executable, the glibc libraries ldd lists for it, /proc,
// a state dir, a template and the app (Debian's static busybox, as
// /bin/busybox: no /bin/sh, no node). It allocates 2 ports, reports them to
// a local server, renders the template, waits for a TCP dependency (which
// starts listening only once the report arrived), and execs the app as the
// same pid; the app sees the caller's environment byte for byte; exit
// codes and signals pass through.
//
// env(1), unshare(1) and chroot(1) all exec (no fork): the pid Node spawned
// is domeize's and then the app's. Needs root (chroot, mount) and
// util-linux's unshare; skipped without them or without the executable.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { after, before, test } from "node:test";
import { splitEnviron } from "../../src/domeize/environ.js";
import {
  collectRaw,
  EXE,
  ok,
  ReportServer,
  removeDir,
  spawnWithEnviron,
  tempDir,
  until,
} from "./helpers.js";

const BUSYBOX = "/bin/busybox";
const UNSHARE = "/usr/bin/unshare";
const CHROOT = "/usr/sbin/chroot";

function why(): string | false {
  if (process.getuid?.() !== 0) return "needs root (chroot, mount)";
  for (const f of [EXE, BUSYBOX, UNSHARE, CHROOT]) if (!existsSync(f)) return `no ${f}`;
  return false;
}
const skip = why();

let dir: string;
let root: string;

/** The root file system: the executable, its libraries, busybox, empty /proc and /state. */
function buildRoot(at: string): void {
  for (const d of ["bin", "proc", "state", "tmpl", "out"])
    mkdirSync(`${at}/${d}`, { recursive: true });
  copyFileSync(EXE, `${at}/domeize`);
  execFileSync("chmod", ["755", `${at}/domeize`]);
  copyFileSync(BUSYBOX, `${at}/bin/busybox`);
  execFileSync("chmod", ["755", `${at}/bin/busybox`]);
  const ldd = execFileSync("ldd", [EXE], { encoding: "utf8" });
  for (const lib of ldd.match(/\/\S+/g) ?? []) {
    mkdirSync(`${at}${dirname(lib)}`, { recursive: true });
    copyFileSync(lib, `${at}${lib}`); // follows the symlink: the library itself
  }
  writeFileSync(
    `${at}/tmpl/app.tmpl`,
    'listen {{ .Env.AUTO_PORT0 }}; admin {{ .Env.AUTO_PORT1 }}; profile {{ index .Env "spring.profiles.active" }}\n',
  );
}

before(() => {
  if (skip) return;
  dir = tempDir("domeize-chroot-");
  root = `${dir}/root`;
  buildRoot(root);
});
after(() => {
  if (!skip) removeDir(dir);
});

const b = (s: string) => Buffer.from(s, "latin1");

/** domeize in the chroot, as the pid Node spawns. */
function inChroot(entries: Buffer[], args: string[]) {
  return spawnWithEnviron(dir, entries, [
    UNSHARE,
    `--mount-proc=${root}/proc`,
    CHROOT,
    root,
    "/domeize",
    ...args,
  ]);
}

function listening(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      resolve(typeof a === "object" && a !== null ? a.port : 0);
    });
  });
}

test("chroot with only the executable, its libraries, /proc, a state dir and busybox: the whole job, then exec", {
  skip,
}, async () => {
  assert.deepEqual(readdirSync(`${root}/bin`), ["busybox"], "no sh, no node in the image");
  // The dependency: its port is known now, it listens only after the report.
  const dep = createServer((s) => s.destroy());
  const depPort = await listening(dep);
  await new Promise((r) => dep.close(r));
  let depUp = false;
  const server = await new ReportServer((req, res) => {
    if (req.url.endsWith("/annotation") && !depUp) {
      depUp = true;
      dep.listen(depPort, "127.0.0.1");
    }
    ok(req, res);
  }).start();
  try {
    const caller = [
      b("PATH=/bin"),
      b("spring.profiles.active=prod"),
      b("A-B=1"),
      b("1NUM=x"),
      Buffer.concat([b("MULTI=line one\nline two\n"), Buffer.from([0xff, 0xc3, 0x28]), b(" end")]),
      b("NEED_PORTS=2"),
      b(`DOMEOS_SERVER_ADDR=${server.addr}`),
      b("CLUSTER_NAME=c1"),
      b("MY_POD_NAMESPACE=ns1"),
      b("MY_POD_NAME=chroot-pod"),
      b("DOMEIZE_STATE_DIR=/state"),
    ];
    const child = inChroot(caller, [
      "-template",
      "/tmpl/app.tmpl:/out/app.conf",
      "-wait",
      `tcp://127.0.0.1:${depPort}`,
      "-timeout",
      "60s",
      "/bin/busybox",
      "cat",
      "/proc/self/stat",
      "/proc/self/environ",
    ]);
    const r = await collectRaw(child);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(depUp, "the report came before the dependency was up: domeize waited for it");
    const nl = r.stdout.indexOf(0x0a);
    const stat = r.stdout.subarray(0, nl).toString();
    assert.equal(stat.split(" ")[0], String(child.pid), "the app runs as the pid domeize had");
    assert.match(stat, /^\d+ \(busybox\)/);
    const env = splitEnviron(r.stdout.subarray(nl + 1));
    assert.deepEqual(
      env.slice(0, caller.length),
      caller,
      "the caller's environment, byte for byte, in order",
    );
    const added = env.slice(caller.length).map(String);
    assert.equal(added.length, 3, added.join(" "));
    const [p0, p1] = [added[0].split("=")[1], added[1].split("=")[1]];
    assert.deepEqual(added, [`AUTO_PORT0=${p0}`, `AUTO_PORT1=${p1}`, `AUTO_PORTS=${p0},${p1}`]);
    const reports = server.annotations();
    assert.equal(reports.length, 1);
    assert.equal(reports[0].url, "/api/agent/pod/c1/ns1/chroot-pod/annotation");
    assert.deepEqual(JSON.parse(reports[0].body), { AUTO_PORT0: p0, AUTO_PORT1: p1 });
    assert.equal(
      readFileSync(`${root}/out/app.conf`, "utf8"),
      `listen ${p0}; admin ${p1}; profile prod\n`,
    );
    assert.deepEqual(
      readdirSync(`${root}/state/ports`).sort(),
      [p0, p1].sort(),
      "claims in the state dir",
    );
  } finally {
    await server.stop();
    await new Promise((r) => dep.close(r));
  }
});

test("chroot: the app's exit code is domeize's (3), and SIGTERM to the pid reaches the app", {
  skip,
}, async () => {
  const env = [b("PATH=/bin")];
  const exit3 = await collectRaw(inChroot(env, ["/bin/busybox", "sh", "-c", "exit 3"]));
  assert.equal(exit3.code, 3, exit3.stderr);
  const child = inChroot(env, ["/bin/busybox", "sleep", "600"]);
  const done = collectRaw(child);
  // The pid runs the app once its command line is busybox's.
  const cmdline = () => {
    try {
      return readFileSync(`/proc/${child.pid}/cmdline`, "latin1");
    } catch {
      return "";
    }
  };
  const app = ["/bin/busybox", "sleep", "600", ""].join("\0");
  await until(() => cmdline() === app, 60_000, "the app to replace domeize").catch((err) => {
    throw new Error(`${err.message}: pid ${child.pid} runs ${JSON.stringify(cmdline())}`);
  });
  child.kill("SIGTERM");
  const r = await done;
  assert.equal(r.signal, "SIGTERM", `${r.code} ${r.stderr}`);
});
