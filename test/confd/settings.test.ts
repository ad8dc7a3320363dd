// Command line (Go flag syntax) and config file: flags override the file
// (confd gets this backwards), bad input is a clear error.

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadSettings } from "../../src/confd/cli/settings.js";
import { parseWait } from "../../src/confd/cli/wait.js";

const dir = mkdtempSync(join(tmpdir(), "confd-settings-"));
const NOFILE = ["-config-file", join(dir, "absent.toml")];

test("Go flag syntax: -f v, --f=v, -bool, -bool=false, repeatable -node", () => {
  const { settings } = loadSettings([
    ...NOFILE,
    "-backend",
    "file",
    "--confdir=/x",
    "-onetime",
    "-noop=false",
    "-node",
    "a:1",
    "--node",
    "b:2",
    "-interval=5",
  ]);
  assert.equal(settings.backend, "file");
  assert.equal(settings.confdir, "/x");
  assert.equal(settings.onetime, true);
  assert.equal(settings.noop, false);
  assert.deepEqual(settings.nodes, ["a:1", "b:2"]);
  assert.equal(settings.interval, 5);
});

test("flag errors are Go's messages", () => {
  assert.throws(
    () => loadSettings([...NOFILE, "-nosuch"]),
    /flag provided but not defined: -nosuch/,
  );
  assert.throws(() => loadSettings([...NOFILE, "-backend"]), /flag needs an argument: -backend/);
  assert.throws(
    () => loadSettings([...NOFILE, "-interval", "x"]),
    /invalid value "x" for flag -interval/,
  );
  assert.throws(
    () => loadSettings([...NOFILE, "-noop=maybe"]),
    /invalid boolean value "maybe" for -noop/,
  );
  assert.throws(() => loadSettings([...NOFILE, "-log-level", "loud"]), /not a valid log level/);
  assert.throws(() => loadSettings([...NOFILE, "-max-line-loss", "2"]), /between 0 and 1/);
  assert.throws(
    () => loadSettings([...NOFILE, "-retry-max", "0"]),
    /-retry-max must be at least 100ms, got 0ms/,
  );
  assert.throws(
    () => loadSettings([...NOFILE, "-retry-max", "-5s"]),
    /-retry-max must be at least/,
  );
  assert.equal(loadSettings([...NOFILE]).settings.retryMaxMs, 30000, "30 s by default");
  assert.equal(loadSettings([...NOFILE, "-retry-max", "2m"]).settings.retryMaxMs, 120000);
});

test("parsing stops at the first non-flag argument", () => {
  const { settings, warnings } = loadSettings([...NOFILE, "-onetime", "extra", "-noop"]);
  assert.equal(settings.onetime, true);
  assert.equal(settings.noop, false);
  assert.match(warnings.join(), /ignoring non-flag arguments: extra -noop/);
});

test("the config file sets values; command-line flags override it", () => {
  const file = join(dir, "confd.toml");
  writeFileSync(
    file,
    'backend = "env"\nnodes = [":1"]\nnoop = true\ninterval = 7\nprefix = "/p"\nwait = "100ms:1s"\nmax_line_loss = 0.25\nfreeze_on_bad_key = true\nlog-level = "debug"\n',
  );
  const fromFile = loadSettings(["-config-file", file]).settings;
  assert.equal(fromFile.backend, "env");
  assert.deepEqual(fromFile.nodes, [":1"]);
  assert.equal(fromFile.noop, true);
  assert.equal(fromFile.interval, 7);
  assert.deepEqual(fromFile.wait, { minMs: 100, maxMs: 1000 });
  assert.equal(fromFile.maxLineLoss, 0.25);
  assert.equal(fromFile.freezeOnBadKey, true);
  assert.equal(
    loadSettings(["-config-file", file, "-freeze-on-bad-key=false"]).settings.freezeOnBadKey,
    false,
  );
  assert.equal(
    loadSettings(["-config-file", "/nonexistent"]).settings.freezeOnBadKey,
    false,
    "default: leave bad pods out",
  );
  const both = loadSettings([
    "-config-file",
    file,
    "-noop=false",
    "-node",
    ":2379",
    "-backend",
    "file",
    "-wait",
    "2s",
  ]).settings;
  assert.equal(both.noop, false);
  assert.deepEqual(both.nodes, [":2379"]);
  assert.equal(both.backend, "file");
  assert.deepEqual(both.wait, { minMs: 2000, maxMs: 8000 });
  assert.equal(both.interval, 7, "values not given as flags still come from the file");
});

test("a bad config file is a clear error naming the file and key", () => {
  const bad = join(dir, "bad.toml");
  writeFileSync(bad, "backend = \n");
  assert.throws(
    () => loadSettings(["-config-file", bad]),
    (e: Error) => e.message.includes(bad),
  );
  const wrongType = join(dir, "wrong.toml");
  writeFileSync(wrongType, 'nodes = "a:1"\n');
  assert.throws(
    () => loadSettings(["-config-file", wrongType]),
    /key "nodes": expected an array of strings/,
  );
  const unknown = join(dir, "unknown.toml");
  writeFileSync(unknown, 'bogus = 1\nbackend = "env"\n');
  const r = loadSettings(["-config-file", unknown]);
  assert.equal(r.settings.backend, "env");
  assert.match(r.warnings.join(), /unknown key "bogus" ignored/);
});

test("TLS flags: env fallback, cert needs key", () => {
  const { settings } = loadSettings([...NOFILE, "-client-key", "/k"], { CONFD_CLIENT_CERT: "/c" });
  assert.equal(settings.clientCert, "/c");
  assert.throws(
    () => loadSettings([...NOFILE, "-client-cert", "/c"], {}),
    /must be given together/,
  );
  assert.throws(
    () => loadSettings([...NOFILE, "-basic-auth", "-username", "u"], {}),
    /-basic-auth needs/,
  );
});

test("waits use Go durations (the durations themselves: test/goflag)", () => {
  assert.deepEqual(parseWait("100ms:1s"), { minMs: 100, maxMs: 1000 });
  assert.equal(parseWait("0"), undefined);
  assert.throws(() => parseWait("2s:1s"), /max must be >= min/);
});
