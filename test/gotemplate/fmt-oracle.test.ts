// Go fmt conformance: every row of fmt-cases/cases.json is a printf call whose
// expected output Go 1.19 produced (see fmt-cases/generate.mjs). sprintf must
// reproduce it byte for byte.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sprintf, sprintfUncompiled } from "../../src/gotemplate/fmt/index.js";
import { decode } from "./fmt-cases/decode.js";

interface Row {
  format: string;
  args?: unknown[];
  repeat?: number;
  arg?: unknown;
  expected: string;
}

const casesFile = new URL("../../../test/gotemplate/fmt-cases/cases.json", import.meta.url);

for (const [name, fn] of [
  ["sprintf (compiled formats)", sprintf],
  ["sprintfUncompiled (Go's format parser)", sprintfUncompiled],
] as const) {
  test(`${name} matches Go 1.19 on the oracle table`, () => check(fn));
}

function check(fn: (format: string, args: unknown[]) => string): void {
  const rows = JSON.parse(readFileSync(casesFile, "utf8")) as Row[];
  assert.ok(rows.length > 2000, "the table is complete");
  const failures: string[] = [];
  for (const row of rows) {
    const args = row.args ? row.args.map(decode) : Array(row.repeat).fill(decode(row.arg));
    const got = fn(row.format, args);
    if (got !== row.expected) {
      failures.push(
        `format ${JSON.stringify(row.format)} args ${JSON.stringify(row.args ?? row.arg)}\n` +
          `  want ${JSON.stringify(row.expected)}\n  got  ${JSON.stringify(got)}`,
      );
    }
  }
  assert.equal(
    failures.length,
    0,
    `${failures.length} mismatches:\n${failures.slice(0, 15).join("\n")}`,
  );
}
