// Template engine benchmark (issue 2 §4): the three cases of
// bench/gotemplate-cases.ts, rendered by Go's text/template (the oracle,
// `gotmpl-ref -bench N`) and by ours (`tools/gotmpl-cases --bench N`) in the
// same run, on the same case files. Prints ns/op for both and Go/ours.
//
//   npm run build && node dist/bench/gotemplate.js [--rounds R] [--scale S] [--oracle PATH]
//
// Each implementation runs R rounds, alternating, and the best (minimum)
// ns/op of each is compared: on a shared, loaded machine the minimum is the
// least disturbed measurement (the CPU figures below are medians). Both also render each case once normally and
// the outputs must be byte-identical, so the speed is for the same work.
// A second ratio compares CPU time per render (children's user+system time
// from /proc, measured as the difference between an N-run and a 1-run
// process), which is far less sensitive to other load than wall time.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchCase, nginxCase, podsCase, printfCase } from "./gotemplate-cases.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OURS = join(root, "tools/gotmpl-cases");

interface Options {
  rounds: number;
  scale: number;
  oracle: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { rounds: 3, scale: 1, oracle: process.env.GOTMPL_REF ?? "/tmp/gotmpl-ref" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--rounds") o.rounds = Math.max(1, Number(v));
    else if (a === "--scale") o.scale = Number(v);
    else if (a === "--oracle") o.oracle = v;
    else throw new Error(`gotemplate bench: unknown argument ${JSON.stringify(a)}`);
    i++;
  }
  if (!(o.scale > 0)) throw new Error("gotemplate bench: --scale must be a positive number");
  return o;
}

interface BenchOut {
  name: string;
  nsPerOp: number;
  bytes: number;
  error: string | null;
}

/** CPU seconds used so far by this process's waited-for children (Linux /proc). */
function childCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command: state is field 3; cutime and cstime are fields 16 and 17.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

interface Run {
  out: BenchOut[];
  cpu: number;
}

function run(cmd: string, args: string[], input: string): Run {
  const before = childCpuSeconds();
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 28, encoding: "utf8" });
  const cpu = childCpuSeconds() - before;
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { out: JSON.parse(r.stdout) as BenchOut[], cpu };
}

type Impl = "go" | "ours";

function benchOnce(impl: Impl, o: Options, file: string, text: string, n: number): Run {
  return impl === "go"
    ? run(o.oracle, ["-compact", "-bench", String(n), file], "")
    : run(process.execPath, [OURS, "--bench", String(n)], text);
}

/** Renders a case normally with both and checks the outputs are identical. */
function sameOutput(o: Options, file: string, text: string): string {
  const go = run(o.oracle, ["-compact", file], "").out as unknown as { output: string | null }[];
  const ours = run(process.execPath, [OURS], text).out as unknown as { output: string | null }[];
  if (go[0].output === null) return "Go failed to render";
  return go[0].output === ours[0].output ? "identical" : "DIFFERENT";
}

interface Row {
  name: string;
  n: number;
  goNs: number;
  oursNs: number;
  goCpu: number;
  oursCpu: number;
  bytes: number;
  output: string;
}

function measure(c: BenchCase, n: number, o: Options, dir: string): Row {
  const file = join(dir, `${c.name}.json`);
  const text = JSON.stringify([c]);
  writeFileSync(file, text);
  const output = sameOutput(o, file, text);
  const best: Record<Impl, number> = { go: Infinity, ours: Infinity };
  const cpu: Record<Impl, number[]> = { go: [], ours: [] };
  let bytes = 0;
  for (let round = 0; round < o.rounds; round++) {
    for (const impl of ["go", "ours"] as const) {
      const base = benchOnce(impl, o, file, text, 1).cpu;
      const r = benchOnce(impl, o, file, text, n);
      const res = r.out[0];
      if (res.error) throw new Error(`${impl} failed on ${c.name}: ${res.error}`);
      best[impl] = Math.min(best[impl], res.nsPerOp);
      cpu[impl].push(((r.cpu - base) / (n - 1)) * 1e9);
      bytes = res.bytes;
    }
  }
  return {
    name: c.name,
    n,
    goNs: best.go,
    oursNs: best.ours,
    goCpu: median(cpu.go),
    oursCpu: median(cpu.ours),
    bytes,
    output,
  };
}

/** Median: a CPU difference (N-run minus 1-run) is noisy in both directions. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmtNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const cases: [BenchCase, number][] = [
    // pods: at least 10 renders, or the CPU difference drowns in the 9.5 MB JSON decode at start-up.
    [podsCase(), Math.max(10, Math.round(10 * o.scale))],
    [nginxCase(), Math.max(2, Math.round(20000 * o.scale))],
    [printfCase(), Math.max(2, Math.round(300 * o.scale))],
  ];
  const dir = mkdtempSync(join(tmpdir(), "gotemplate-bench-"));
  try {
    console.log(`gotemplate benchmark: ${o.rounds} rounds, best of each; oracle ${o.oracle}`);
    console.log(
      "| case | N | Go wall/op | ours wall/op | Go/ours (wall) | Go CPU/op | ours CPU/op | Go/ours (CPU) | output |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const [c, n] of cases) {
      const r = measure(c, n, o, dir);
      console.log(
        `| ${r.name} | ${r.n} | ${fmtNs(r.goNs)} | ${fmtNs(r.oursNs)} | ${(r.goNs / r.oursNs).toFixed(2)}x | ` +
          `${fmtNs(r.goCpu)} | ${fmtNs(r.oursCpu)} | ${(r.goCpu / r.oursCpu).toFixed(2)}x | ${r.output}, ${r.bytes} B |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
