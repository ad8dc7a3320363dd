// Same-run A/B of the template engine: this tree's engine against a baseline
// checkout's (another worktree built with `npx tsc`), both loaded into this
// one process and rendering the same parsed cases in alternating rounds (the
// order flips every round), timed by CPU time (process.cpuUsage), which a
// loaded machine disturbs far less than wall time. Cases: bench/gotemplate-
// cases.ts plus a string-indexing case (`index "s" i` yields a uint8). Prints
// min and median CPU per render of each and baseline/ours: above 1 ours is faster.
// Outputs must be identical.
//
//   npx tsc && node dist/bench/gotemplate-ab.js --baseline DIR [--rounds R]
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Template } from "../src/gotemplate/index.js";
import { type BenchCase, nginxCase, podsCase, printfCase } from "./gotemplate-cases.js";

type Engine = typeof Template;

function parseArgs(argv: string[]): { baseline: string; rounds: number } {
  const o = { baseline: "", rounds: 21 };
  for (let i = 0; i < argv.length; i += 2) {
    const [a, v] = [argv[i], argv[i + 1] ?? ""];
    if (a === "--baseline") o.baseline = resolve(v);
    else if (a === "--rounds") o.rounds = Math.max(1, Number(v));
    else throw new Error(`gotemplate-ab: unknown argument ${JSON.stringify(a)}`);
  }
  if (o.baseline === "")
    throw new Error("gotemplate-ab: --baseline DIR (a built checkout) is required");
  return o;
}

/** Byte indexing in a loop: index of a string, its %c and %d, a comparison with an int. */
function bytesCase(): BenchCase {
  const words = Array.from({ length: 200 }, (_, i) => `w${i.toString(36)}abcdef`);
  return {
    name: "string-index-200",
    template:
      '{{range .words}}{{index . 1}} {{printf "%c%d" (index . 2) (index . 3)}}{{if eq (index . 1) 48}}!{{end}}\n{{end}}',
    data: { words },
  };
}

/** CPU microseconds per render of `n` renders. */
function cpuPerRender(render: () => string, n: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) render();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

function us(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(1)} µs`;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const url = pathToFileURL(`${o.baseline}/dist/src/gotemplate/index.js`).href;
  const Baseline = (await import(url)).Template as Engine;
  const cases: [BenchCase, number][] = [
    [podsCase(), 3],
    [nginxCase(), 3000],
    [printfCase(), 60],
    [bytesCase(), 500],
  ];
  console.log(
    `gotemplate A/B in one process: ${o.rounds} rounds, order flipped each round; baseline ${o.baseline}`,
  );
  console.log(
    "| case | renders/round | baseline min | ours min | base/ours (min) | baseline median | ours median | base/ours (median) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const [c, n] of cases) {
    const base = new Baseline(c.name).parse(c.template);
    const ours = new Template(c.name).parse(c.template);
    if (base.execute(c.data) !== ours.execute(c.data)) throw new Error(`${c.name}: outputs differ`);
    const t = { base: [] as number[], ours: [] as number[] };
    for (let r = 0; r < o.rounds; r++) {
      const order = r % 2 === 0 ? (["ours", "base"] as const) : (["base", "ours"] as const);
      for (const which of order) {
        const tpl = which === "base" ? base : ours;
        t[which].push(cpuPerRender(() => tpl.execute(c.data), n));
      }
    }
    const [bm, om] = [Math.min(...t.base), Math.min(...t.ours)];
    const [bd, od] = [median(t.base), median(t.ours)];
    console.log(
      `| ${c.name} | ${n} | ${us(bm)} | ${us(om)} | ${(bm / om).toFixed(3)} | ${us(bd)} | ${us(od)} | ${(bd / od).toFixed(3)} |`,
    );
  }
}

await main();
