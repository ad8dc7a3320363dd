// Go's flag package: syntax, kinds, error messages (checked against Go 1.19's
// flag.FlagSet with ContinueOnError) and the PrintDefaults usage layout.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  FlagError,
  type FlagSpec,
  HelpRequested,
  parseFlags,
  parseGoInt,
} from "../../src/goflag/flags.js";
import { usage } from "../../src/goflag/usage.js";

const FLAG_SPECS: FlagSpec[] = [
  { name: "template", kind: "list", usage: "render a template (repeatable)" },
  { name: "poll", kind: "bool", usage: "poll" },
  { name: "delims", kind: "string", usage: "delimiters" },
  { name: "timeout", kind: "duration", usage: "timeout", defaultText: "10s" },
  { name: "n", kind: "int", usage: "a number" },
];

test("Go flag syntax: -f, --f, -f=v, -f v, bools, stop at first non-flag and after --", () => {
  const p = parseFlags(FLAG_SPECS, [
    "--template",
    "a:b",
    "-template=c:d",
    "-poll",
    "-timeout",
    "1m",
    "echo",
    "-template",
    "x",
  ]);
  assert.deepEqual(p.values.get("template"), ["a:b", "c:d"]);
  assert.equal(p.values.get("poll"), true);
  assert.equal(p.values.get("timeout"), 60_000);
  assert.deepEqual(p.args, ["echo", "-template", "x"]);
  assert.deepEqual(parseFlags(FLAG_SPECS, ["-poll", "--", "-x"]).args, ["-x"]);
  assert.deepEqual(parseFlags(FLAG_SPECS, ["-", "a"]).args, ["-", "a"]);
  // a bool flag does not take the next argument: "false" becomes the command
  const b = parseFlags(FLAG_SPECS, ["-poll", "false"]);
  assert.equal(b.values.get("poll"), true);
  assert.deepEqual(b.args, ["false"]);
  assert.equal(parseFlags(FLAG_SPECS, ["-poll=false"]).values.get("poll"), false);
  // last value wins for plain flags
  assert.equal(
    parseFlags(FLAG_SPECS, ["-delims", "a:b", "-delims", "c:d"]).values.get("delims"),
    "c:d",
  );
  // flags not given are absent (callers apply their defaults)
  assert.equal(p.values.has("delims"), false);
});

function err(argv: string[]): unknown {
  try {
    parseFlags(FLAG_SPECS, argv);
  } catch (e) {
    return e;
  }
  return undefined;
}

test("flag errors carry Go's messages", () => {
  assert.match((err(["-nope"]) as Error).message, /^flag provided but not defined: -nope$/);
  assert.match(
    (err(["-timeout", "10"]) as Error).message,
    /^invalid value "10" for flag -timeout: parse error$/,
  );
  assert.match((err(["-poll=maybe"]) as Error).message, /invalid boolean value "maybe" for -poll/);
  assert.match((err(["-template"]) as Error).message, /flag needs an argument: -template/);
  assert.match((err(["---x"]) as Error).message, /bad flag syntax: ---x/);
  assert.match((err(["-=x"]) as Error).message, /^bad flag syntax: -=x$/);
  assert.equal(
    (err(["-poll=\x01"]) as Error).message,
    'invalid boolean value "\\x01" for -poll: parse error',
  );
  assert.ok(err(["-h"]) instanceof HelpRequested);
  assert.ok(err(["--help"]) instanceof HelpRequested);
  assert.ok(err(["-x"]) instanceof FlagError);
  // Go stops at -h: a later bad flag is not reached
  assert.ok(err(["-h", "-nope"]) instanceof HelpRequested);
});

test("int flags follow strconv.ParseInt(s, 0, 64), as Go's flag.Int", () => {
  const n = (text: string) => parseFlags(FLAG_SPECS, ["-n", text]).values.get("n");
  assert.equal(n("5"), 5);
  assert.equal(n("0x10"), 16);
  assert.equal(n("010"), 8);
  assert.equal(n("1_000"), 1000);
  assert.equal(n("0b_101"), 5);
  assert.equal(n("-0x_f"), -15);
  assert.equal(n("+7"), 7);
  for (const bad of ["x", "_1", "1__0", "08", "", "1.5"]) {
    assert.equal(
      (err(["-n", bad]) as Error).message,
      `invalid value ${JSON.stringify(bad)} for flag -n: parse error`,
    );
  }
  assert.equal(
    (err(["-n", "9223372036854775808"]) as Error).message,
    'invalid value "9223372036854775808" for flag -n: value out of range',
  );
  assert.equal(parseGoInt("-9223372036854775808"), -(2 ** 63));
});

test("usage is Go's PrintDefaults layout", () => {
  const specs: FlagSpec[] = [
    { name: "x", kind: "bool", usage: "short bool" },
    { name: "wait", kind: "duration", usage: "how long\nsecond line", defaultText: "1s" },
    { name: "name", kind: "string", usage: "the `who` to greet", defaultText: "def" },
    { name: "n", kind: "int", usage: "a number" },
    { name: "node", kind: "list", usage: "list of nodes" },
    { name: "empty", kind: "string", usage: "no default shown", defaultText: "" },
  ];
  assert.equal(
    usage("prog", specs),
    [
      "Usage of prog:",
      "  -empty string",
      "    \tno default shown",
      "  -n int",
      "    \ta number",
      "  -name who",
      '    \tthe who to greet (default "def")',
      "  -node value",
      "    \tlist of nodes",
      "  -wait duration",
      "    \thow long",
      "    \tsecond line (default 1s)",
      "  -x\tshort bool",
      "",
    ].join("\n"),
  );
});
