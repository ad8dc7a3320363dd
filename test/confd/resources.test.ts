// Template resources: discovery, validation with clear errors, octal modes,
// owner/group that work, prefixes as confd applies them.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { discoverResources } from "../../src/confd/resource/discover.js";
import { parseMode } from "../../src/confd/resource/mode.js";
import { loadResource } from "../../src/confd/resource/resource-config.js";

const confdir = mkdtempSync(join(tmpdir(), "confd-res-"));
mkdirSync(join(confdir, "conf.d", "sub"), { recursive: true });

function resource(name: string, body: string, globalPrefix = "") {
  const file = join(confdir, "conf.d", name);
  writeFileSync(file, body);
  return () => loadResource(file, { confdir, globalPrefix });
}

const BASE = 'src = "t.tmpl"\ndest = "/tmp/out.conf"\n';

test("discovery: recursive, lexical, basename glob *toml (xtoml matches)", () => {
  for (const f of ["b.toml", "a.toml", "sub/0.toml", "xtoml", "c.txt"])
    writeFileSync(join(confdir, "conf.d", f), "");
  const names = discoverResources(confdir).map((p) => p.slice(join(confdir, "conf.d").length + 1));
  assert.deepEqual(
    names.filter((n) => ["a.toml", "b.toml", "sub/0.toml", "xtoml", "c.txt"].includes(n)),
    ["a.toml", "b.toml", "sub/0.toml", "xtoml"],
  );
  assert.throws(
    () => discoverResources(join(confdir, "nope")),
    /stat .*conf.d: no such file or directory/,
  );
});

test("the seed's nginx.toml loads unchanged; owner works; mode is octal", () => {
  const r = resource(
    "nginx.toml",
    '[template]\nsrc = "upstream.tmpl"\ndest = "/opt/scs/nginx/conf/upstream.conf"\nkeys = [\n "/registry/pods/default",\n]\n  \nowner = "root"\nmode = "0644"\ncheck_cmd = "/usr/sbin/nginx -t -c pathtonginxconf"\nreload_cmd = "/usr/sbin/nginx -s reload"\n',
  )();
  assert.equal(r.templatePath, join(confdir, "templates", "upstream.tmpl"));
  assert.deepEqual(r.backendKeys, ["/registry/pods/default"]);
  assert.equal(r.prefix, "/");
  assert.equal(r.mode, 0o644);
  assert.equal(r.uid, 0);
  assert.equal(r.checkCmd, "/usr/sbin/nginx -t -c pathtonginxconf");
});

test("mode: '644' means 0644 (confd: decimal 644), Go prefixes work, junk is an error", () => {
  assert.equal(parseMode("644"), 0o644);
  assert.equal(parseMode("0o600"), 0o600);
  assert.equal(parseMode("0x1a4"), 0o644);
  assert.throws(() => parseMode("rw-r--r--"), /invalid mode/);
  assert.throws(() => parseMode("99999"), /invalid mode/);
});

test("prefix: empty means '/', a leading '/' is added, -prefix replaces it; keys are joined", () => {
  assert.deepEqual(
    resource("p1.toml", `[template]\n${BASE}prefix = "app"\nkeys = ["/list", "x/"]\n`)()
      .backendKeys,
    ["/app/list", "/app/x"],
  );
  const g = resource(
    "p2.toml",
    `[template]\n${BASE}prefix = "/app"\nkeys = ["/list"]\n`,
    "/other",
  )();
  assert.equal(g.prefix, "/other");
  assert.deepEqual(g.backendKeys, ["/other/list"]);
});

test("bad resources are clear errors naming the file and key", () => {
  const cases: [string, RegExp][] = [
    ["[template\nsrc=1", /bad1.toml: invalid TOML/],
    ['src = "x"', /missing \[template\] table/],
    [`[template]\ndest = "/tmp/x"`, /\[template\] src: empty src template/],
    [`[template]\nsrc = "t"\ndest = "rel/x"`, /\[template\] dest: must be an absolute path/],
    [`[template]\n${BASE}keys = "/a"`, /\[template\] keys: expected an array of strings/],
    [`[template]\n${BASE}mode = "rw"`, /\[template\] mode: invalid mode/],
    [
      `[template]\n${BASE}owner = "no-such-user-x"`,
      /\[template\] owner: unknown user "no-such-user-x"/,
    ],
    [`[template]\n${BASE}group = "no-such-group-x"`, /\[template\] group: unknown group/],
    [`[template]\n${BASE}owner = "root"\nuid = 5`, /owner: root is uid 0, but uid = 5 is also set/],
    [`[template]\n${BASE}wait = "5s:1s"`, /\[template\] wait: .*max must be >= min/],
    [`[template]\n${BASE}uid = -1`, /\[template\] uid: expected a non-negative integer/],
  ];
  cases.forEach(([body, re], i) => {
    const load = resource(`bad${i + 1}.toml`, body);
    assert.throws(
      load,
      (e: Error) => re.test(e.message) && e.message.includes(`bad${i + 1}.toml`),
      `case ${i + 1}: ${body}`,
    );
  });
});

test("per-resource wait accepts a string or a table", () => {
  assert.deepEqual(resource("w1.toml", `[template]\n${BASE}wait = "100ms:2s"`)().wait, {
    minMs: 100,
    maxMs: 2000,
  });
  assert.deepEqual(
    resource("w2.toml", `[template]\n${BASE}[template.wait]\nmin = "1s"\nmax = "3s"`)().wait,
    { minMs: 1000, maxMs: 3000 },
  );
});

test("per-resource max_line_loss: still validated, then ignored with a warning (the guard judges store snapshots now)", () => {
  const file = join(confdir, "conf.d", "loss.toml");
  writeFileSync(file, `[template]\n${BASE}max_line_loss = 0.3\n`);
  const warnings: string[] = [];
  loadResource(file, { confdir, globalPrefix: "", warn: (m) => warnings.push(m) });
  assert.ok(
    warnings.some((w) =>
      /max_line_loss is ignored: the guard now holds suspicious store snapshots/.test(w),
    ),
    warnings.join("\n"),
  );
  writeFileSync(file, `[template]\n${BASE}max_line_loss = 2\n`);
  assert.throws(
    () => loadResource(file, { confdir, globalPrefix: "" }),
    /\[template\] max_line_loss: expected a number between 0 and 1/,
  );
});
