// Startup benchmark: domeize with 5 templates and NEED_PORTS=2 against a
// local report endpoint, median wall time over many runs, as a ratio to
// `node -e 0` measured in the same run (runs interleaved, so machine load
// affects both alike). Target: ratio <= 1.25 for the bundle. Variants: the
// sh launcher + bundle, the self-contained executable
// (dist/bin/domeize-linux-x64, when built), `node domeize.cjs` without the
// launcher (resident: what a Node single executable application would run,
// as Node cannot exec), and `/bin/true` (the cost of a fork + exec alone).
// Issue 13's target for the executable: <= 2x the Go original, which
// measured 0.44x `node -e 0` on this machine, i.e. <= 0.88x `node -e 0`.
//
//   node dist/bench/domeize-startup.js [runs]
//
// The executable's time is also split: its start with nothing to do, the 5
// templates without ports, NEED_PORTS=2 without templates, and Bun's own
// floor (an executable of `process.exit(0)` built with the same flags).
//
// DOMEIZE_BENCH_EXE_BASELINE=/path/to/other-executable adds another build
// of the executable (e.g. without --bytecode) to the same run.
//
// DOMEIZE_BENCH_BASELINE=/path/to/older/domeize.cjs adds that bundle as a
// variant, to compare two builds in the same run (with the launcher named
// domeize in the same directory, when there is one).

import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const RUNS = Number(process.argv[2] ?? 40);

/**
 * CPU time (user + sys, ms) of the reaped children so far, from
 * /proc/self/stat (cutime, cstime in clock ticks of 10 ms): the launcher
 * waits for its node, so a run's whole tree is counted once it is reaped.
 * Far less sensitive to machine load than wall time.
 */
function childCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * 10;
}

const cpu = new Map<string, number[]>();

/**
 * The runtime's own start, built here with the executable's flags
 * (scripts/build-domeize-exe.mjs): `process.exit(0)`, compiled by the bun
 * devDependency. Undefined without a working bun.
 */
function bunFloor(dir: string): string | undefined {
  const bun = [
    `${ROOT}/node_modules/bun/bin/bun.exe`,
    `${ROOT}/node_modules/@oven/bun-linux-x64/bin/bun`,
  ].find((p) => existsSync(p));
  if (bun === undefined) return undefined;
  writeFileSync(`${dir}/floor.ts`, "process.exit(0);\n");
  try {
    execFileSync(
      bun,
      [
        "build",
        `${dir}/floor.ts`,
        "--compile",
        "--bytecode",
        "--minify",
        "--no-compile-autoload-dotenv",
        "--no-compile-autoload-bunfig",
        "--compile-jit-policy=100",
        "--outfile",
        `${dir}/floor`,
      ],
      { stdio: "ignore" },
    );
    return `${dir}/floor`;
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr.on("data", (d) => {
      err += d;
    });
    c.on("close", (code) => {
      if (code !== 0) rej(new Error(`${cmd} ${args.join(" ")}: exit ${code}: ${err}`));
      else res(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  });
}

// CPU times come in 10 ms ticks: the mean is finer than the median.
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};

async function main() {
  const dir = mkdtempSync(`${tmpdir()}/domeize-bench-`);
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      // A server without the port ledger: a bare 404 on /ports, which
      // domeize remembers in its state dir (one request on the first run).
      if (!req.url?.endsWith("/annotation")) {
        res.statusCode = 404;
        res.end("404 page not found\n");
        return;
      }
      res.end('{"resultCode":200}');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  const port = typeof a === "object" && a !== null ? a.port : 0;
  mkdirSync(`${dir}/out`);
  const args: string[] = [];
  for (let i = 0; i < 5; i++) {
    writeFileSync(
      `${dir}/t${i}.tmpl`,
      `listen {{ .Env.AUTO_PORT0 }};\nserver {{ default .Env.HOST "localhost" }}:{{ .Env.AUTO_PORT1 }};\n{{ range $i := loop 3 }}worker {{ $i }}\n{{ end }}`,
    );
    args.push("-template", `${dir}/t${i}.tmpl:${dir}/out/t${i}.conf`);
  }
  args.push("true");
  const env = (main: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    DOMEIZE_MAIN: main,
    NEED_PORTS: "2",
    DOMEOS_SERVER_ADDR: `http://127.0.0.1:${port}`,
    CLUSTER_NAME: "bench",
    MY_POD_NAMESPACE: "default",
    MY_POD_NAME: "bench-pod",
    DOMEIZE_STATE_DIR: `${dir}/state`,
  });
  const variants: [string, () => Promise<number>][] = [
    ["node -e 0", () => run(process.execPath, ["-e", "0"], { PATH: process.env.PATH })],
  ];
  const bundle = `${ROOT}/dist/domeize.cjs`;
  if (!existsSync(bundle))
    throw new Error(`${bundle} missing: run node scripts/bundle-domeize.mjs`);
  variants.push(["domeize (bundle)", () => run(`${ROOT}/bin/domeize`, args, env(bundle))]);
  const baseline = process.env.DOMEIZE_BENCH_BASELINE;
  if (baseline !== undefined && baseline !== "") {
    // The baseline's own launcher when one sits beside it (an older build
    // copied with its bin/domeize), else this tree's.
    const own = `${dirname(resolve(baseline))}/domeize`;
    const launcher = existsSync(own) ? own : `${ROOT}/bin/domeize`;
    variants.push([
      `domeize (baseline bundle${launcher === own ? " + its launcher" : ""})`,
      () => run(launcher, args, env(baseline)),
    ]);
  }
  const exe = `${ROOT}/dist/bin/domeize-linux-x64`;
  if (existsSync(exe)) {
    variants.push(["domeize (executable)", () => run(exe, args, env(bundle))]);
    const other = process.env.DOMEIZE_BENCH_EXE_BASELINE;
    if (other !== undefined && other !== "") {
      variants.push(["domeize (baseline executable)", () => run(other, args, env(bundle))]);
    }
    variants.push([
      "domeize true (executable, nothing to do)",
      () => run(exe, ["true"], { PATH: process.env.PATH }),
    ]);
    // The breakdown: the templates alone, the ports and report alone.
    const templatesOnly = args.filter((a) => a !== "true");
    variants.push([
      "executable: 5 templates, no ports",
      () => run(exe, [...templatesOnly, "true"], { ...env(bundle), NEED_PORTS: "0" }),
    ]);
    variants.push([
      "executable: NEED_PORTS=2, no templates",
      () => run(exe, ["true"], env(bundle)),
    ]);
    const floor = bunFloor(dir);
    if (floor !== undefined) {
      variants.push([
        "Bun's floor: an executable that exits at once",
        () => run(floor, [], { PATH: process.env.PATH }),
      ]);
    }
  }
  variants.push([
    "node domeize.cjs (no launcher: resident child)",
    () => run(process.execPath, [bundle, ...args], env(bundle)),
  ]);
  variants.push(["/bin/true", () => run("/bin/true", [], { PATH: process.env.PATH })]);
  variants.push([
    "domeize (bundle), ledger off",
    () => run(`${ROOT}/bin/domeize`, args, { ...env(bundle), DOMEIZE_PORT_LEDGER: "off" }),
  ]);
  variants.push([
    "domeize true (bundle, nothing to do)",
    () => run(`${ROOT}/bin/domeize`, ["true"], { PATH: process.env.PATH, DOMEIZE_MAIN: bundle }),
  ]);
  const times = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  for (const [, fn] of variants) await fn(); // warm the page cache
  for (let i = 0; i < RUNS; i++) {
    for (const [name, fn] of variants) {
      const c0 = childCpuMs();
      times.get(name)!.push(await fn());
      cpu.set(name, [...(cpu.get(name) ?? []), childCpuMs() - c0]);
    }
  }
  server.close();
  rmSync(dir, { recursive: true, force: true });
  const base = median(times.get("node -e 0")!);
  console.log(`runs per variant: ${RUNS} (interleaved)`);
  if (existsSync(exe)) {
    const mb = (f: string) => (statSync(f).size / 1e6).toFixed(1);
    console.log(`executable: ${mb(exe)} MB; node binary: ${mb(process.execPath)} MB`);
  }
  const cpuBase = mean(cpu.get("node -e 0")!);
  console.log(
    `load average: ${readFileSync("/proc/loadavg", "latin1").split(" ").slice(0, 3).join(" ")}`,
  );
  console.log("| variant | median ms | ratio to node -e 0 | mean CPU ms | CPU ratio |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const [name] of variants) {
    const m = median(times.get(name)!);
    const c = mean(cpu.get(name)!);
    console.log(
      `| ${name} | ${m.toFixed(1)} | ${(m / base).toFixed(2)} | ${c.toFixed(0)} | ${(c / cpuBase).toFixed(2)} |`,
    );
  }
}

await main();
