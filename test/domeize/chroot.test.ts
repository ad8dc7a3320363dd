// The self-contained executable in an image that has nothing else: a
// chroot (inside an unshared mount namespace, with /proc mounted there)
// holding only the executable, the C libraries it needs, /proc, a state
// dir, a template and the app (Debian's static busybox, as /bin/busybox: no
// /bin/sh, no node). It allocates 2 ports, reports them to a local server,
// renders the template, waits for a TCP dependency (which starts listening
// only once the report arrived), and execs the app as the same pid; the app
// sees the caller's environment byte for byte; exit codes and signals pass
// through.
//
// Two images, the same checks:
// - glibc (Debian, Ubuntu, RHEL, distroless/cc): dist/bin/domeize-linux-x64
//   and the glibc libraries ldd lists for it;
// - musl (Alpine): dist/bin/domeize-linux-x64-musl, musl's loader and libc
//   (Debian's musl package, as /lib/ld-musl-x86_64.so.1) and the C++ runtime
//   Bun's musl build needs (libstdc++.so.6, libgcc_s.so.1; Alpine: apk add
//   libstdc++ libgcc). Debian has no musl-built C++ runtime, so the image
//   gets Debian's glibc-built one plus a small test-only shim of the glibc
//   symbols it references (fixtures/musl-cxx-shim/shim.c, built here with
//   cc): musl's loader, libc and the executable are the real ones.
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
import { basename, dirname } from "node:path";
import { after, before, test } from "node:test";
import { splitEnviron } from "../../src/domeize/environ.js";
import {
  collectRaw,
  EXE,
  EXE_MUSL,
  ok,
  ReportServer,
  ROOT,
  removeDir,
  spawnWithEnviron,
  tempDir,
  until,
} from "./helpers.js";

const BUSYBOX = "/bin/busybox";
const UNSHARE = "/usr/bin/unshare";
const CHROOT = "/usr/sbin/chroot";
/** Debian's musl package: the loader, which is also musl's libc. */
const MUSL_LOADER = "/lib/ld-musl-x86_64.so.1";
const SHIM_SRC = `${ROOT}/test/domeize/fixtures/musl-cxx-shim/shim.c`;

function why(exe: string, extra: string[] = []): string | false {
  if (process.getuid?.() !== 0) return "needs root (chroot, mount)";
  for (const f of [exe, BUSYBOX, UNSHARE, CHROOT, ...extra]) if (!existsSync(f)) return `no ${f}`;
  return false;
}

/** Copies `lib` (following symlinks: the library itself) to `at` + `as`. */
function install(at: string, lib: string, as = lib): void {
  mkdirSync(`${at}${dirname(as)}`, { recursive: true });
  copyFileSync(lib, `${at}${as}`);
}

/** The glibc libraries ldd lists for the executable. */
function glibcLibraries(at: string, exe: string): void {
  const ldd = execFileSync("ldd", [exe], { encoding: "utf8" });
  for (const lib of ldd.match(/\/\S+/g) ?? []) install(at, lib);
}

/** musl's loader/libc, and the C++ runtime with the test-only shim (see the top). */
function muslLibraries(at: string, dir: string): void {
  install(at, MUSL_LOADER);
  const cxx = ["libstdc++.so.6", "libgcc_s.so.1"].map((name) =>
    execFileSync("cc", [`-print-file-name=${name}`], { encoding: "utf8" }).trim(),
  );
  for (const lib of cxx) install(at, lib, `/usr/lib/${basename(lib)}`);
  const shim = `${dir}/ld-linux-x86-64.so.2`;
  execFileSync("cc", [
    "-shared",
    "-fPIC",
    "-nostdlib",
    "-O2",
    "-Wl,-soname,ld-linux-x86-64.so.2",
    "-o",
    shim,
    SHIM_SRC,
  ]);
  install(at, shim, "/usr/lib/ld-linux-x86-64.so.2");
}

/** The root file system: the executable, its libraries, busybox, empty /proc and /state. */
function buildRoot(at: string, exe: string, libraries: (at: string) => void): void {
  for (const d of ["bin", "proc", "state", "tmpl", "out"])
    mkdirSync(`${at}/${d}`, { recursive: true });
  copyFileSync(exe, `${at}/domeize`);
  execFileSync("chmod", ["755", `${at}/domeize`]);
  copyFileSync(BUSYBOX, `${at}/bin/busybox`);
  execFileSync("chmod", ["755", `${at}/bin/busybox`]);
  libraries(at);
  writeFileSync(
    `${at}/tmpl/app.tmpl`,
    'listen {{ .Env.AUTO_PORT0 }}; admin {{ .Env.AUTO_PORT1 }}; profile {{ index .Env "spring.profiles.active" }}\n',
  );
}

const b = (s: string) => Buffer.from(s, "latin1");

function listening(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      resolve(typeof a === "object" && a !== null ? a.port : 0);
    });
  });
}

/** The checks, against one image. */
function imageSuite(
  name: string,
  exe: string,
  skip: string | false,
  libraries: (at: string, dir: string) => void,
): void {
  let dir: string;
  let root: string;
  before(() => {
    if (skip) return;
    dir = tempDir(`domeize-chroot-${name}-`);
    root = `${dir}/root`;
    buildRoot(root, exe, (at) => libraries(at, dir));
  });
  after(() => {
    if (!skip) removeDir(dir);
  });

  /** domeize in the chroot, as the pid Node spawns. */
  const inChroot = (entries: Buffer[], args: string[]) =>
    spawnWithEnviron(dir, entries, [
      UNSHARE,
      `--mount-proc=${root}/proc`,
      CHROOT,
      root,
      "/domeize",
      ...args,
    ]);

  test(`${name}: chroot with only the executable, its libraries, /proc, a state dir and busybox: the whole job, then exec`, {
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
        Buffer.concat([
          b("MULTI=line one\nline two\n"),
          Buffer.from([0xff, 0xc3, 0x28]),
          b(" end"),
        ]),
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

  test(`${name}: chroot: the app's exit code is domeize's (3), and SIGTERM to the pid reaches the app`, {
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
}

imageSuite("glibc", EXE, why(EXE), (at) => glibcLibraries(at, EXE));
imageSuite("musl", EXE_MUSL, why(EXE_MUSL, [MUSL_LOADER, "/usr/bin/cc"]), muslLibraries);
