// Conformance with Go 1.19's text/template: the shared corpus (core.json) and
// our own oracle-generated regression cases (cases/*.json with *.expected.json)
// run through the shared judge, compare.mjs, with error locations checked.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { GOTMPL_KIT as KIT, REPO_ROOT } from "../support/fixtures.js";

const ADAPTER = join(REPO_ROOT, "tools", "gotmpl-cases");
const CASES_DIR = join(REPO_ROOT, "test", "gotemplate", "cases");

function judge(corpus: string, expected: string): void {
  const r = spawnSync(
    process.execPath,
    [
      join(KIT, "compare.mjs"),
      "--check-error-location",
      "--no-categories",
      corpus,
      expected,
      "--",
      process.execPath,
      ADAPTER,
    ],
    { encoding: "utf8", maxBuffer: 1 << 28, timeout: 240_000 },
  );
  const last = r.stdout.trim().split("\n").pop() ?? "";
  assert.match(
    last,
    /^\d+ passed, 0 failed$/,
    `${corpus}:\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-2000)}`,
  );
  assert.equal(r.status, 0);
}

test("core.json: every case matches Go (output, error kind, error location)", {
  timeout: 300_000,
}, () => {
  assert.ok(
    existsSync(join(KIT, "core.json")),
    `conformance kit missing at ${KIT} (tools/sync-fixtures.sh copies it in)`,
  );
  judge(join(KIT, "core.json"), join(KIT, "core.expected.json"));
});

const regressions = readdirSync(CASES_DIR).filter(
  (f) => f.endsWith(".json") && !f.endsWith(".expected.json"),
);

test("regression case files exist", () => {
  assert.ok(regressions.length >= 2);
});

for (const file of regressions) {
  test(`cases/${file}: every case matches Go`, { timeout: 300_000 }, () => {
    judge(join(CASES_DIR, file), join(CASES_DIR, file.replace(/\.json$/, ".expected.json")));
  });
}

test("tools/gotmpl-cases --bench N prints {name, nsPerOp, bytes, error} per case", () => {
  const cases = [
    { name: "ok", template: "{{range .}}{{.}},{{end}}", data: [1, 2] },
    { name: "bad", template: "{{if}}" },
    { name: "boom", template: "{{index . 5}}", data: [] },
  ];
  const r = spawnSync(process.execPath, [ADAPTER, "--bench", "3"], {
    input: JSON.stringify(cases),
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    name: string;
    nsPerOp: number;
    bytes: number;
    error: string | null;
  }[];
  assert.deepEqual(
    out.map((o) => o.name),
    ["ok", "bad", "boom"],
  );
  assert.equal(out[0]?.error, null);
  assert.equal(out[0]?.bytes, 4);
  assert.ok((out[0]?.nsPerOp ?? 0) > 0);
  assert.match(out[1]?.error ?? "", /missing value for if/);
  assert.match(out[2]?.error ?? "", /index out of range: 5/);
});

test("tools/gotmpl-cases reports parse, exec and harness errors with their kinds", () => {
  const cases = [
    { name: "p", template: "{{end}}" },
    { name: "e", template: "{{.a.b}}", data: { a: null } },
    { name: "h", template: "x", funcs: "no-such-set" },
    { name: "o", template: "{{.}}", data: -0 },
  ];
  const r = spawnSync(process.execPath, [ADAPTER], {
    input: JSON.stringify(cases).replace('"data":0', '"data":-0'),
    encoding: "utf8",
  });
  const out = JSON.parse(r.stdout) as {
    name: string;
    output: string | null;
    errorKind: string | null;
  }[];
  assert.deepEqual(
    out.map((o) => o.errorKind),
    ["parse", "exec", "harness", null],
  );
  assert.equal(out[3]?.output, "-0");
});
