// Command line (domeize options; Go flag syntax itself: test/goflag) and
// environment validation.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseOptions } from "../../src/domeize/cli/options.js";
import { readEnv } from "../../src/domeize/env.js";
import { DomeizeError, EXIT } from "../../src/domeize/exit.js";
import { baseEnv, ReportServer, runDomeize, tempDir } from "./helpers.js";

test("options: delims, wait URLs and headers are validated up front", () => {
  assert.deepEqual(parseOptions(["-delims", "<%:%>", "x"]).delims, ["<%", "%>"]);
  assert.throws(() => parseOptions(["-delims", "a:b:c", "x"]), /bad delimiters/);
  assert.throws(() => parseOptions(["-delims", "ab", "x"]), /bad delimiters/);
  assert.throws(() => parseOptions(["-wait", "db:5432", "x"]), /bad -wait/);
  assert.throws(() => parseOptions(["-wait", "ftp://h:1", "x"]), /unsupported scheme "ftp"/);
  assert.throws(() => parseOptions(["-wait", "tcp://h", "x"]), /expected tcp:\/\/host:port/);
  const o = parseOptions(["-wait", "http://h/x", "-wait-http-header", "X-Token: abc:def", "x"]);
  assert.deepEqual(o.waitHeaders, [{ name: "X-Token", value: "abc:def" }]);
  assert.throws(() => parseOptions(["-wait-http-header", "X: y", "x"]), /without an http/);
  assert.throws(
    () => parseOptions(["-wait", "http://h", "-wait-http-header", "novalue", "x"]),
    /bad -wait-http-header/,
  );
  assert.equal(parseOptions(["x"]).timeoutMs, 10_000);
  assert.equal(parseOptions(["x"]).waitRetryMs, 1000);
});

function envError(env: Record<string, string>): string {
  try {
    readEnv(env);
  } catch (e) {
    assert.ok(e instanceof DomeizeError);
    assert.equal(e.code, EXIT.env);
    return e.message;
  }
  return "";
}

const pod = {
  DOMEOS_SERVER_ADDR: "http://domeos:8080",
  CLUSTER_NAME: "c1",
  MY_POD_NAMESPACE: "ns1",
  MY_POD_NAME: "pod-1",
};

test("environment: every value is validated and named in the error", () => {
  assert.match(envError({ NEED_PORTS: " 2", ...pod }), /NEED_PORTS=" 2"/);
  assert.match(envError({ NEED_PORTS: "1.5", ...pod }), /NEED_PORTS="1.5"/);
  assert.match(envError({ NEED_PORTS: "-1", ...pod }), /NEED_PORTS="-1"/);
  assert.match(envError({ AVAILABLE_PORT_START: "abc" }), /AVAILABLE_PORT_START="abc"/);
  assert.match(envError({ AVAILABLE_PORT_END: "70000" }), /AVAILABLE_PORT_END="70000".*1\.\.65535/);
  assert.match(envError({ AVAILABLE_PORT_START: "0" }), /AVAILABLE_PORT_START="0"/);
  assert.match(
    envError({ AVAILABLE_PORT_START: "300", AVAILABLE_PORT_END: "200" }),
    /empty port range/,
  );
  assert.match(
    envError({ NEED_PORTS: "1", ...pod, DOMEOS_SERVER_ADDR: "domeos:8080" }),
    /DOMEOS_SERVER_ADDR="domeos:8080"/,
  );
  assert.match(
    envError({ NEED_PORTS: "1", ...pod, DOMEOS_SERVER_ADDR: "" }),
    /DOMEOS_SERVER_ADDR is not set/,
  );
  assert.match(envError({ NEED_PORTS: "1", ...pod, MY_POD_NAME: "a b/c" }), /MY_POD_NAME="a b\/c"/);
  assert.match(
    envError({ NEED_PORTS: "1", ...pod, MY_POD_NAMESPACE: "" }),
    /MY_POD_NAMESPACE is not set/,
  );
  assert.match(envError({ NETWORK_MODE: "weird" }), /NETWORK_MODE="weird"/);
  assert.match(
    envError({ NEED_PORTS: "1", ...pod, DOMEOS_AGENT_TOKEN: "a\nb" }),
    /DOMEOS_AGENT_TOKEN/,
  );
  assert.match(envError({ DOMEIZE_STATE_DIR: "rel/dir" }), /DOMEIZE_STATE_DIR="rel\/dir"/);
  assert.match(envError({ DOMEIZE_REPORT_DEADLINE: "60" }), /DOMEIZE_REPORT_DEADLINE="60"/);
});

test("environment: defaults, trimming, NEED_PORTS=0 is a no-op", () => {
  const c = readEnv({ NEED_PORTS: "0", DOMEIZE_TEMPLATES: " a.tmpl:a.conf , ,b.tmpl:b.conf," });
  assert.equal(c.needPorts, 0);
  assert.equal(c.pod, undefined);
  assert.equal(c.rangeStart, 20000);
  assert.equal(c.rangeEnd, 20999);
  assert.deepEqual(c.templates, ["a.tmpl:a.conf", "b.tmpl:b.conf"]);
  const d = readEnv({ NEED_PORTS: "2", ...pod, DOMEOS_SERVER_ADDR: "http://domeos:8080/" });
  assert.deepEqual(d.pod?.servers, ["http://domeos:8080"]);
  assert.equal(d.pod?.hostIp, undefined);
});

test("environment: several server URLs (comma-separated, trailing / dropped), HOST_IP, all missing names in one message", () => {
  const d = readEnv({
    NEED_PORTS: "2",
    ...pod,
    DOMEOS_SERVER_ADDR: "http://a:8080/, https://b/domeos//",
    HOST_IP: "10.0.0.12",
  });
  assert.deepEqual(d.pod?.servers, ["http://a:8080", "https://b/domeos"]);
  assert.equal(d.pod?.hostIp, "10.0.0.12");
  assert.equal(readEnv({ NEED_PORTS: "1", ...pod, HOST_IP: "fd00::1" }).pod?.hostIp, "fd00::1");
  assert.match(
    envError({ NEED_PORTS: "1", ...pod, HOST_IP: "10.0.0.256" }),
    /HOST_IP="10.0.0.256"/,
  );
  assert.match(
    envError({ NEED_PORTS: "1", ...pod, DOMEOS_SERVER_ADDR: "http://a,,http://b" }),
    /DOMEOS_SERVER_ADDR="http:\/\/a,,http:\/\/b": an empty entry/,
  );
  assert.match(
    envError({ NEED_PORTS: "1", ...pod, DOMEOS_SERVER_ADDR: "http://a,b:80" }),
    /DOMEOS_SERVER_ADDR="b:80"/,
  );
  assert.equal(
    envError({ NEED_PORTS: "2" }),
    "DOMEOS_SERVER_ADDR, CLUSTER_NAME, MY_POD_NAMESPACE, MY_POD_NAME are not set (needed to report NEED_PORTS ports)",
  );
  assert.equal(
    envError({ NEED_PORTS: "2", ...pod, CLUSTER_NAME: "", MY_POD_NAME: "" }),
    "CLUSTER_NAME, MY_POD_NAME are not set (needed to report NEED_PORTS ports)",
  );
});

test("-timeout without a unit says what is missing", async () => {
  const r = await runDomeize(["-timeout", "2", "true"], baseEnv({}));
  assert.equal(r.code, EXIT.usage);
  assert.match(
    r.stderr,
    /invalid value "2" for flag -timeout: parse error \(missing unit in duration "2", e\.g\. 2s\)/,
  );
});

test("binary: -h exits 0, unknown flag and no arguments exit 2, -version prints", async () => {
  const env = baseEnv({});
  const h = await runDomeize(["-h"], env);
  assert.equal(h.code, 0);
  assert.match(h.stderr, /Examples:/);
  const u = await runDomeize(["-nope", "true"], env);
  assert.equal(u.code, EXIT.usage);
  assert.match(u.stderr, /flag provided but not defined: -nope/);
  const none = await runDomeize([], env);
  assert.equal(none.code, EXIT.usage);
  const v = await runDomeize(["-version"], env);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^domeize \d+\.\d+\.\d+/);
});

test("binary: a bad value stops domeize before anything is reported", async () => {
  const server = await new ReportServer().start();
  try {
    const base = {
      NEED_PORTS: "2",
      DOMEOS_SERVER_ADDR: server.addr,
      CLUSTER_NAME: "c",
      MY_POD_NAMESPACE: "n",
      MY_POD_NAME: "p",
      DOMEIZE_STATE_DIR: tempDir(),
    };
    const r = await runDomeize(["true"], baseEnv({ ...base, AVAILABLE_PORT_END: "x" }));
    assert.equal(r.code, EXIT.env);
    assert.match(r.stderr, /AVAILABLE_PORT_END="x"/);
    const d = await runDomeize(["-delims", "x", "true"], baseEnv(base));
    assert.equal(d.code, EXIT.usage);
    const t = await runDomeize(["-template", "/nonexistent.tmpl:/tmp/x", "true"], baseEnv(base));
    assert.equal(t.code, EXIT.template);
    assert.match(t.stderr, /nonexistent\.tmpl/);
    const c = await runDomeize(["no-such-command-xyz"], baseEnv(base));
    assert.equal(c.code, EXIT.notFound);
    assert.equal(server.requests.length, 0, "nothing was reported");
  } finally {
    await server.stop();
  }
});
