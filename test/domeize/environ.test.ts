// The app's environment is the caller's, byte for byte (names sh cannot
// hold, newlines, bytes that are not UTF-8, order), plus the AUTO_PORTs;
// .Env and sprig's env see the same names; nothing of domeize's own
// (launcher protocol, the shell's PWD) leaks into either.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { splitEnviron, withAdditions } from "../../src/domeize/environ.js";
import {
  collectRaw,
  DOMEIZE,
  ReportServer,
  removeDir,
  spawnWithEnviron,
  tempDir,
} from "./helpers.js";

let dir: string;
before(() => {
  dir = tempDir("domeize-environ-");
});
after(() => removeDir(dir));

const b = (s: string) => Buffer.from(s, "latin1");

/** The caller's environment: what Kubernetes can pass and sh cannot. */
function callerEntries(extra: Buffer[] = []): Buffer[] {
  return [
    b("PATH=/usr/local/bin:/usr/bin:/bin"),
    b("spring.profiles.active=prod"),
    b("A-B=1"),
    b("1NUM=x"),
    Buffer.concat([b("MULTI=line one\nline 'two'\n"), Buffer.from([0xff, 0xfe, 0x80]), b(" end")]),
    b("EMPTY="),
    b("EQ=a=b=c"),
    ...extra,
  ];
}

function runWithEnviron(entries: Buffer[], args: string[]) {
  return collectRaw(spawnWithEnviron(dir, entries, [DOMEIZE, ...args]));
}

test("environ: entries split on NUL; additions replace in place and append in order", () => {
  assert.deepEqual(splitEnviron(b("A=1\0B=2\0")).map(String), ["A=1", "B=2"]);
  assert.deepEqual(splitEnviron(b("A=1\0\0B")).map(String), ["A=1", "B"]);
  const got = withAdditions([b("X=1"), b("AUTO_PORT0=old"), b("Y=2")], {
    AUTO_PORT0: "20001",
    AUTO_PORTS: "20001",
  });
  assert.deepEqual(got.map(String), ["X=1", "AUTO_PORT0=20001", "Y=2", "AUTO_PORTS=20001"]);
});

test("the app gets the caller's environment byte for byte, in order (no ports: nothing added)", async () => {
  const entries = callerEntries();
  const r = await runWithEnviron(entries, ["/usr/bin/env", "-0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(splitEnviron(r.stdout), entries);
});

test("with NEED_PORTS the app gets the caller's environment plus AUTO_PORT0..n-1 and AUTO_PORTS, nothing else", async () => {
  const server = await new ReportServer().start();
  try {
    const pod = [
      b("NEED_PORTS=2"),
      b(`DOMEOS_SERVER_ADDR=${server.addr}`),
      b("CLUSTER_NAME=c1"),
      b("MY_POD_NAMESPACE=ns1"),
      b("MY_POD_NAME=env-pod"),
      b(`DOMEIZE_STATE_DIR=${dir}/state`),
      b("DOMEIZE_PORT_LEDGER=off"),
    ];
    const entries = callerEntries(pod);
    const tmpl = `${dir}/env.tmpl`;
    writeFileSync(
      tmpl,
      '{{ index .Env "A-B" }}|{{ index .Env "spring.profiles.active" }}|{{ index .Env "1NUM" }}|{{ env "A-B" }}|' +
        "{{ range $k, $v := .Env }}{{ $k }},{{ end }}",
    );
    const out = `${dir}/env.out`;
    const r = await runWithEnviron(entries, ["-template", `${tmpl}:${out}`, "/usr/bin/env", "-0"]);
    assert.equal(r.code, 0, r.stderr);
    const got = splitEnviron(r.stdout);
    assert.deepEqual(
      got.slice(0, entries.length),
      entries,
      "the caller's entries, unchanged, in order",
    );
    const added = got.slice(entries.length).map(String);
    assert.equal(added.length, 3, added.join(" "));
    assert.match(added[0], /^AUTO_PORT0=\d+$/);
    assert.match(added[1], /^AUTO_PORT1=\d+$/);
    assert.equal(added[2], `AUTO_PORTS=${added[0].split("=")[1]},${added[1].split("=")[1]}`);
    const [values, keys] = [
      readFileSync(out, "utf8").split("|").slice(0, 4),
      readFileSync(out, "utf8").split("|")[4],
    ];
    assert.deepEqual(values, ["1", "prod", "x", "1"]);
    const names = keys.split(",").filter((k) => k !== "");
    const expected = [
      ...entries.map((e) => e.toString("latin1").split("=")[0]),
      "AUTO_PORT0",
      "AUTO_PORT1",
      "AUTO_PORTS",
    ];
    assert.deepEqual(
      names,
      [...expected].sort(),
      ".Env has exactly the app's names (no PWD, no DOMEIZE_PLAN_*)",
    );
  } finally {
    await server.stop();
  }
});
