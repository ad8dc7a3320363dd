// Go's time.ParseDuration and Duration.String. Expected values were printed
// by Go 1.19 (time.ParseDuration / Duration.String) and are committed here.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatDuration,
  mustParseDuration,
  parseDuration,
  parseDurationNs,
} from "../../src/goflag/duration.js";

test("Go durations", () => {
  assert.equal(parseDuration("10s"), 10_000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("10"), undefined);
  assert.equal(parseDuration(""), undefined);
  assert.equal(parseDuration("1x"), undefined);
  assert.equal(parseDuration(".s"), undefined);
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(250), "250ms");
});

test("mustParseDuration: Go syntax, a clear error naming the bad string", () => {
  assert.equal(mustParseDuration("1m30s"), 90000);
  assert.equal(mustParseDuration("250ms"), 250);
  assert.equal(mustParseDuration("1.5s"), 1500);
  assert.throws(() => mustParseDuration("5"), /invalid duration/);
  assert.throws(
    () => mustParseDuration("5"),
    /^Error: invalid duration "5" \(use Go syntax such as 100ms, 2s, 1m30s\)$/,
  );
});

// [input, nanoseconds or Go's error message], from Go 1.19.
const PARSE: [string, bigint | string][] = [
  ["0", 0n],
  ["-0", 0n],
  ["+0", 0n],
  ["10", 'time: missing unit in duration "10"'],
  ["", 'time: invalid duration ""'],
  ["1x", 'time: unknown unit "x" in duration "1x"'],
  [".s", 'time: invalid duration ".s"'],
  ["1.s", 1_000_000_000n],
  [".5s", 500_000_000n],
  ["-1.5h", -5_400_000_000_000n],
  ["1µs", 1000n],
  ["1μs", 1000n],
  ["1us", 1000n],
  ["1ns", 1n],
  ["2562047h47m16.854775807s", 9223372036854775807n],
  ["2562047h47m16.854775808s", 'time: invalid duration "2562047h47m16.854775808s"'],
  ["-2562047h47m16.854775808s", -9223372036854775808n],
  ["9223372036854775807ns", 9223372036854775807n],
  ["9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'],
  ["-9223372036854775808ns", -9223372036854775808n],
  ["1.0000000001s", 1_000_000_000n],
  ["0.3333333333333333333h", 1_200_000_000_000n],
  ["1s ", 'time: unknown unit "s " in duration "1s "'],
  [" 1s", 'time: invalid duration " 1s"'],
  ["1h1.5m", 3_690_000_000_000n],
  ["3.000000000000000000001s", 3_000_000_000n],
  ["1e3s", 'time: unknown unit "e" in duration "1e3s"'],
  ["-", 'time: invalid duration "-"'],
  ["+", 'time: invalid duration "+"'],
  ["1\ts", 'time: unknown unit "\\x09s" in duration "1\\x09s"'],
  ["1 µ", 'time: unknown unit " \\xc2\\xb5" in duration "1 \\xc2\\xb5"'],
];

test("parseDurationNs matches Go's time.ParseDuration, errors included", () => {
  for (const [input, want] of PARSE) {
    if (typeof want === "bigint") {
      assert.equal(parseDurationNs(input), want, input);
    } else {
      assert.throws(() => parseDurationNs(input), { name: "DurationError", message: want }, input);
      assert.equal(parseDuration(input), undefined, input);
    }
  }
});

test("formatDuration matches Go's Duration.String", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1e-6, "1ns"],
    [999e-6, "999ns"],
    [0.001, "1µs"],
    [0.0015, "1.5µs"],
    [0.5, "500µs"],
    [250, "250ms"],
    [1500, "1.5s"],
    [90_000, "1m30s"],
    [3_600_000, "1h0m0s"],
    [-90_000, "-1m30s"],
    [1_234_567.890123, "20m34.567890123s"],
  ];
  for (const [ms, want] of cases) assert.equal(formatDuration(ms), want, String(ms));
});
