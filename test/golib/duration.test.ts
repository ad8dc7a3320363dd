// Go's time.ParseDuration, Duration.String and flag.Duration against Go 1.19:
// every row of test/fixtures/golib/duration/duration.json was printed by Go
// itself (test/fixtures/golib/duration/oracle.go).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FlagError, parseFlags } from "../../src/goflag/flags.js";
import {
  DurationError,
  formatDuration,
  formatDurationNs,
  mustParseDuration,
  parseDuration,
  parseDurationNs,
  parseDurationOrSeconds,
} from "../../src/golib/duration.js";
import { FIXTURES_DIR } from "../support/fixtures.js";

interface Oracle {
  parse: { in: string; ns?: string; err?: string }[];
  flag: { arg: string; ns?: string; err?: string }[];
  string: { ns: string; out: string }[];
}

const GO = JSON.parse(
  readFileSync(join(FIXTURES_DIR, "golib", "duration", "duration.json"), "utf8"),
) as Oracle;

test("parseDurationNs: Go's value or Go's exact error, for every recorded input", () => {
  assert.ok(GO.parse.length >= 70);
  for (const row of GO.parse) {
    if (row.err === undefined) {
      assert.equal(parseDurationNs(row.in), BigInt(row.ns!), row.in);
      assert.equal(mustParseDuration(row.in), Number(BigInt(row.ns!)) / 1e6, row.in);
    } else {
      assert.throws(() => parseDurationNs(row.in), { name: "DurationError", message: row.err });
      assert.throws(() => mustParseDuration(row.in), { name: "DurationError", message: row.err });
      assert.equal(parseDuration(row.in), undefined, row.in);
    }
  }
});

test("formatDurationNs is Go's Duration.String", () => {
  for (const row of GO.string) assert.equal(formatDurationNs(BigInt(row.ns)), row.out, row.ns);
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(0.0015), "1.5µs");
});

test("a duration flag fails as Go's flag package does", () => {
  const specs = [{ name: "timeout", kind: "duration" as const, usage: "" }];
  for (const row of GO.flag) {
    if (row.err === undefined) {
      const { values } = parseFlags(specs, ["-timeout", row.arg]);
      assert.equal(values.get("timeout"), Number(BigInt(row.ns!)) / 1e6, row.arg);
    } else {
      assert.throws(() => parseFlags(specs, ["-timeout", row.arg]), {
        name: FlagError.name,
        message: row.err,
      });
    }
  }
});

test("parseDurationOrSeconds: Go syntax, plus the server's bare seconds", () => {
  assert.equal(parseDurationOrSeconds("1m30s"), 90_000);
  assert.equal(parseDurationOrSeconds("30"), 30_000);
  assert.equal(parseDurationOrSeconds("2.5"), 2_500);
  assert.equal(parseDurationOrSeconds("500ms"), 500);
  // not a bare number and not Go: Go's own message
  assert.throws(() => parseDurationOrSeconds("30 s"), {
    name: "DurationError",
    message: 'time: unknown unit " s" in duration "30 s"',
  });
  assert.throws(() => parseDurationOrSeconds("1m30"), DurationError);
  assert.throws(() => parseDurationOrSeconds("-30"), /time: missing unit in duration "-30"/);
});
