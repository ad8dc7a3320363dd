// Dynamic endpoints, confd side without nginx: how a rendered file splits
// into configuration and members (the seed's template output), member
// validation (the Lua endpoint's rule), and the resource's
// dynamic_endpoints table with clear errors for bad values.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { memberError, splitUpstreams } from "../../src/confd/dynamic/split-upstreams.js";
import { loadResource } from "../../src/confd/resource/resource-config.js";

// what examples/confd-demo/templates/upstream.tmpl renders for 3 ready pods
const RENDERED = `upstream img_cs_group
{   
    keepalive 80;
    keepalive_timeout 10s;
                                                                       
    
      server 127.0.0.1:24001 max_fails=1 fail_timeout=5s;
      server 127.0.0.1:24003 max_fails=1 fail_timeout=5s;
      server 10.0.0.7:24002 max_fails=1 fail_timeout=5s;
    
    server 127.0.0.1:1 down;


}
`;

test("the seed's upstream: servers become members, the rest stays, the file no longer depends on the pods", () => {
  const a = splitUpstreams(RENDERED);
  assert.deepEqual([...a.upstreams.keys()], ["img_cs_group"]);
  assert.deepEqual(a.upstreams.get("img_cs_group"), {
    members: ["127.0.0.1:24001", "127.0.0.1:24003", "10.0.0.7:24002"],
    bad: [],
  });
  assert.equal(
    a.config,
    `upstream img_cs_group {
    server 127.0.0.1:1 down;
    balancer_by_lua_block { require("domeos_balancer").balance("img_cs_group") }
    keepalive 80;
    keepalive_timeout 10s;
}
`,
  );
  // one pod less, one port changed: same configuration (no reload), other members
  const b = splitUpstreams(RENDERED.replace(/.*24003.*\n/, "").replace("24001", "24101"));
  assert.equal(b.config, a.config);
  assert.deepEqual(b.upstreams.get("img_cs_group")?.members, ["127.0.0.1:24101", "10.0.0.7:24002"]);
});

test("only the named upstreams; comments, quotes, other blocks and a hand-written Lua upstream untouched", () => {
  const text = `# upstream x { in a comment }
upstream a { server 10.0.0.1:80; server 10.0.0.2; server 10.0.0.3:80 backup; }
upstream my_upstream_b { server 10.0.0.1:81; } # trailing
upstream c { server 10.0.0.9:1; balancer_by_lua_block { require("x").y() } }
map $x $y { default "}"; }
server { listen 80; location / { proxy_pass http://a; } }
`;
  const only = splitUpstreams(text, ["my_upstream_b"]);
  assert.deepEqual([...only.upstreams.keys()], ["my_upstream_b"]);
  assert.ok(only.config.includes("upstream a { server 10.0.0.1:80; server 10.0.0.2;"));
  assert.ok(only.config.startsWith("# upstream x { in a comment }\nupstream a {"));
  assert.ok(only.config.includes('balance("my_upstream_b")'));
  assert.ok(
    only.config.endsWith(`} # trailing
upstream c { server 10.0.0.9:1; balancer_by_lua_block { require("x").y() } }
map $x $y { default "}"; }
server { listen 80; location / { proxy_pass http://a; } }
`),
  );
  const all = splitUpstreams(text);
  // a bare IP is port 80 (as nginx); backup servers are left out; c keeps its own balancer
  assert.deepEqual(all.upstreams.get("a")?.members, ["10.0.0.1:80", "10.0.0.2:80"]);
  assert.deepEqual([...all.upstreams.keys()], ["a", "my_upstream_b"]);
});

test("members that are not IP:port are named (a bad pod's port, a hostname, a unix socket)", () => {
  const s = splitUpstreams(
    "upstream u { server 127.0.0.1:abc; server web:80; server unix:/tmp/s; server 127.0.0.1:2; }",
  );
  assert.deepEqual(s.upstreams.get("u"), {
    members: ["127.0.0.1:2"],
    bad: [
      { server: "127.0.0.1:abc", error: "not IP:port" },
      { server: "web:80", error: "not IP:port" },
      { server: "unix:/tmp/s", error: "not IP:port" },
    ],
  });
  for (const ok of [
    "1.2.3.4:1",
    "255.255.255.255:65535",
    "[::1]:80",
    "[fe80::1%]:1".replace("%", ""),
  ])
    assert.equal(memberError(ok), null, ok);
  assert.equal(memberError("256.1.1.1:80"), "not an IPv4 address");
  assert.equal(memberError("01.1.1.1:80"), "not an IPv4 address");
  assert.equal(memberError("1.1.1.1:0"), "port out of range");
  assert.equal(memberError("1.1.1.1:65536"), "port out of range");
  assert.equal(memberError("[zz]:80"), "not IP:port");
});

test("dynamic_endpoints: loopback or unix socket only, a readable secret file, clear errors naming the key", () => {
  const dir = mkdtempSync(join(tmpdir(), "dyn-res-"));
  const secret = join(dir, "secret");
  writeFileSync(secret, "0123456789abcdef0123");
  const load = (table: string) => {
    const file = join(dir, "r.toml");
    writeFileSync(file, `[template]\nsrc = "t"\ndest = "/tmp/x.conf"\n${table}`);
    return loadResource(file, { confdir: dir, globalPrefix: "" });
  };
  const r = load(
    `[template.dynamic_endpoints]\nendpoint = "http://127.0.0.1:9180/members/"\nsecret_file = "${secret}"\nupstreams = ["img_cs_group"]\nverify_interval = "500ms"\n`,
  );
  assert.deepEqual(r.dynamicEndpoints, {
    url: "http://127.0.0.1:9180/members",
    secretFile: secret,
    upstreams: ["img_cs_group"],
    verifyIntervalMs: 500,
  });
  assert.equal(
    load(`dynamic_endpoints = { endpoint = "unix:/run/m.sock", secret_file = "${secret}" }\n`)
      .dynamicEndpoints?.socketPath,
    "/run/m.sock",
  );
  const bad: [string, RegExp][] = [
    [`dynamic_endpoints = "yes"`, /dynamic_endpoints: expected a table/],
    [
      `dynamic_endpoints = { endpoint = "http://10.0.0.1:9180/members", secret_file = "${secret}" }`,
      /dynamic_endpoints.endpoint: must be a loopback address .*got 10.0.0.1/,
    ],
    [
      `dynamic_endpoints = { endpoint = "https://127.0.0.1/members", secret_file = "${secret}" }`,
      /must be http:\/\/ on loopback/,
    ],
    [
      `dynamic_endpoints = { endpoint = "unix:rel.sock", secret_file = "${secret}" }`,
      /absolute path/,
    ],
    [
      `dynamic_endpoints = { endpoint = "http://127.0.0.1:1/m", secret_file = "${dir}/none" }`,
      /dynamic_endpoints.secret_file: cannot read/,
    ],
    [
      `dynamic_endpoints = { endpoint = "http://127.0.0.1:1/m", secret_file = "${secret}", upstreams = "u" }`,
      /dynamic_endpoints.upstreams: expected an array/,
    ],
    [
      `dynamic_endpoints = { endpoint = "http://127.0.0.1:1/m", secret_file = "${secret}", verify_interval = "1ms" }`,
      /verify_interval: must be between/,
    ],
    [
      `dynamic_endpoints = { endpoint = "http://127.0.0.1:1/m", secret_file = "${secret}", speed = 1 }`,
      /dynamic_endpoints.speed: unknown key/,
    ],
  ];
  for (const [table, re] of bad) assert.throws(() => load(`${table}\n`), re, table);
});
