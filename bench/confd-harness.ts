// What bench/confd-10k.ts and its A/B mode (bench/confd-10k-ab.ts) share:
// a confd directory with the seed's upstream template, running a
// domeos-confd executable (-onetime timed with GNU time, -watch as a child),
// waiting for its file, and reading a child's CPU and peak RSS from /proc.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  watch as fsWatch,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Etcd3 } from "etcd3";
import { type GeneratedPod, podJson } from "./confd-pods.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const GOLDEN = resolve(ROOT, "test/fixtures/confd-golden");
/** This build's executable (run as users do, so its shebang's node flags apply). */
export const CONFD = join(ROOT, "bin/domeos-confd");
export const ETCDCTL = "/usr/bin/etcdctl";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const median = (xs: number[]) => quantile(xs, 0.5);
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
export function shuffle<T>(xs: T[], r: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
export const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** Bulk load in transactions of 100 puts (one fsync each instead of one per pod), keys under `prefix`. */
export async function load(store: Etcd3, pods: GeneratedPod[], prefix = ""): Promise<void> {
  for (let i = 0; i < pods.length; i += 100) {
    const success = pods.slice(i, i + 100).map((p) => ({
      request_put: { key: Buffer.from(prefix + p.key), value: Buffer.from(p.value) },
    }));
    await store.kv.txn({ success });
  }
}

export interface Setup {
  confdir: string;
  dest: string;
  reloads: string;
  /** confd's -prefix ("" : none): the key space this confd reads. */
  prefix: string;
}

export function makeConfdir(prefix = ""): Setup {
  const confdir = mkdtempSync(join(tmpdir(), "confd-bench-"));
  mkdirSync(join(confdir, "conf.d"));
  mkdirSync(join(confdir, "templates"));
  mkdirSync(join(confdir, "out"));
  writeFileSync(
    join(confdir, "templates/upstream.tmpl"),
    readFileSync(join(GOLDEN, "upstream.tmpl")),
  );
  const dest = join(confdir, "out/upstream.conf");
  const reloads = join(confdir, "reloads");
  writeFileSync(
    join(confdir, "conf.d/nginx.toml"),
    `[template]
src = "upstream.tmpl"
dest = ${JSON.stringify(dest)}
keys = ["/registry/pods/default"]
mode = "0644"
check_cmd = "true"
reload_cmd = ${JSON.stringify(`echo r >> ${reloads}`)}
`,
  );
  return { confdir, dest, reloads, prefix };
}

export const confdArgs = (s: Setup, endpoint: string, extra: string[]) => [
  "-confdir",
  s.confdir,
  "-config-file",
  "/nonexistent",
  "-backend",
  "etcdv3",
  "-node",
  endpoint,
  "-log-level",
  "warning",
  ...(s.prefix ? ["-prefix", s.prefix] : []),
  ...extra,
];

export const readText = (p: string) => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
};
export const countReloads = (s: Setup) => readText(s.reloads).split("\n").filter(Boolean).length;

/**
 * The children's environment: this one without NODE_EXTRA_CA_CERTS, which
 * some shells set and which makes every Node process load a CA bundle at
 * start (~90 ms here): a property of the shell, not of domeos-confd.
 */
export const CHILD_ENV = { ...process.env };
delete CHILD_ENV.NODE_EXTRA_CA_CERTS;

/** Median wall time of `node -e 0` in the children's environment: Node's own start, for scale. */
export function nodeStartMs(runs = 7): number {
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ["-e", "0"], { env: CHILD_ENV });
    walls.push(performance.now() - t0);
  }
  return median(walls);
}

/** Wall ms of one child process run in the children's environment; throws when it fails. */
export function timed(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv = CHILD_ENV,
  stdout = true,
) {
  const t0 = performance.now();
  const stdio = ["ignore", stdout ? "pipe" : "ignore", "pipe"] as const;
  const r = spawnSync(cmd, argv, { encoding: "utf8", env, stdio: [...stdio] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return { ms, r };
}

/** One `confd -onetime` (dest removed first) under GNU time: wall, CPU (user + system) and peak RSS. */
export function onetimeRun(bin: string, s: Setup, endpoint: string, expected: string) {
  rmSync(s.dest, { force: true });
  const { ms, r } = timed("/usr/bin/time", [
    "-f",
    "%M %U %S",
    bin,
    ...confdArgs(s, endpoint, ["-onetime"]),
  ]);
  const [kb, user, sys] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  if (readText(s.dest) !== expected) throw new Error(`onetime (${bin}): wrong output`);
  return { wallMs: ms, cpuMs: (user + sys) * 1000, rssMiB: kb / 1024 };
}

export function startConfd(
  s: Setup,
  endpoint: string,
  extra: string[],
  bin: string = CONFD,
): ChildProcess {
  const p = spawn(bin, confdArgs(s, endpoint, ["-watch", ...extra]), {
    env: CHILD_ENV,
    stdio: ["ignore", "ignore", "pipe"],
  });
  p.stderr?.on("data", (d: Buffer) => process.stderr.write(`[confd] ${d}`));
  return p;
}

export async function stopConfd(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const done = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await done;
}

/** User+system CPU seconds of a live process (/proc, clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Resolve when `dest` satisfies `ok`, watching its directory (renames) and polling as a fallback. */
export function waitFile(
  dest: string,
  ok: (text: string) => boolean,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    let done = false;
    const check = () => {
      if (done || !ok(readText(dest))) return;
      done = true;
      const t = performance.now();
      w.close();
      clearInterval(poll);
      clearTimeout(timer);
      resolvePromise(t);
    };
    const w = fsWatch(dirname(dest), check);
    const poll = setInterval(check, 20);
    const timer = setTimeout(() => {
      done = true;
      w.close();
      clearInterval(poll);
      reject(new Error(`file not updated within ${timeoutMs} ms`));
    }, timeoutMs);
    check();
  });
}

/** One pod's AUTO_PORT0 changed: the pod's new JSON and the server line to wait for. */
export function changePort(p: GeneratedPod, port: number, r: () => number): string {
  p.spec.port = String(port);
  p.value = podJson(p.spec, r);
  return `  server ${p.spec.podIP}:${port};\n`;
}
