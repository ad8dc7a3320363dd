// The seed's upstream template with the confd function library, through
// tools/gotmpl-cases --bench (this project's engine + src/confd/funcs) and
// the Go oracle's -bench (Go text/template + the oracle's confd stand-ins),
// on the same case file: pods in the data's `__kv`, `funcs: "confd"`.
// Outputs are compared first; then nsPerOp of both and the ratio.
//
//   npm run build && node dist/bench/confd-template.js [--pods 1000,10000] [--iterations N]
//
// Note: src/confd's `json` caches decodes per value (kept current by the key
// space in real use), so repeated executions over unchanged data do not
// re-decode; the oracle decodes every time. That is the design being measured.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generatePods } from "./confd-pods.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const GOLDEN = resolve(ROOT, "test/fixtures/confd-golden");
const ORACLE = process.env.GOTMPL_REF ?? "/tmp/gotmpl-ref";

interface BenchRow {
  name: string;
  nsPerOp: number;
  bytes: number;
  error: string | null;
}

function runJson(cmd: string, args: string[], input: string): unknown {
  const r = spawnSync(cmd, args, { input, encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      pods: { type: "string", default: "1000,10000" },
      // No default here: the per-size default below applies (a "20" default
      // used to shadow it, so 12 pods were timed over 20 cold executions).
      iterations: { type: "string" },
    },
  });
  const template = readFileSync(join(GOLDEN, "upstream.tmpl"), "utf8");
  const dir = mkdtempSync(join(tmpdir(), "confd-template-bench-"));
  const ours = ["node", join(ROOT, "tools", "gotmpl-cases")];
  for (const n of String(values.pods).split(",").map(Number)) {
    const kv: Record<string, string> = {};
    for (const p of generatePods(n)) kv[p.key] = p.value;
    const file = join(dir, `cases-${n}.json`);
    const cases = JSON.stringify([
      { name: `upstream-${n}`, template, funcs: "confd", data: { __kv: kv } },
    ]);
    writeFileSync(file, cases);
    const a = runJson(ours[0], [ours[1]], cases) as {
      output: string | null;
      error: string | null;
    }[];
    const b = runJson(ORACLE, [], cases) as { output: string | null; error: string | null }[];
    if (a[0].output !== b[0].output || a[0].error !== b[0].error)
      throw new Error(`outputs differ at ${n} pods`);
    // Enough iterations that JIT warm-up does not dominate small cases.
    const it = values.iterations ?? String(n <= 100 ? 2000 : n <= 1000 ? 50 : 10);
    const ob = (runJson(ours[0], [ours[1], "--bench", it], cases) as BenchRow[])[0];
    const gb = (runJson(ORACLE, ["-bench", it], cases) as BenchRow[])[0];
    const ratio = gb.nsPerOp / ob.nsPerOp;
    process.stdout.write(
      `${n} pods (${(cases.length / 1e6).toFixed(1)} MB case, ${ob.bytes} B output, identical): ` +
        `ours ${(ob.nsPerOp / 1e6).toFixed(2)} ms/op, oracle ${(gb.nsPerOp / 1e6).toFixed(2)} ms/op, ${ratio.toFixed(1)}x faster\n`,
    );
  }
}

main();
