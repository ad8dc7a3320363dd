// Operations: configuration layering (flags > env > file), health, metrics,
// request limits and method errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { mintDeploymentToken, mintPodToken } from "../../src/server/auth/pod-token.js";
import { loadConfig } from "../../src/server/config/load.js";
import {
  agentUrl,
  bearer,
  makeStore,
  podToken,
  putPod,
  request,
  SECRET,
  startTestServer,
} from "./helpers.js";

describe("configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), "server-config-"));
  const toml = join(dir, "server.toml");
  writeFileSync(
    toml,
    'listen = "0.0.0.0:9000"\nportRange = "21000-21099"\nallowAnnotations = ["VERSION"]\nsweepInterval = "2m"\n[clusters]\nprod = "etcd://10.0.0.5:2379"\n',
  );

  test("file < env < flags", () => {
    const fileOnly = loadConfig(["--config", toml], {});
    assert.equal(fileOnly.listen, "0.0.0.0:9000");
    assert.deepEqual(fileOnly.portRange, { min: 21000, max: 21099 });
    assert.deepEqual(fileOnly.extraAnnotationKeys, ["VERSION"]);
    assert.equal(fileOnly.sweepIntervalMs, 120_000);
    assert.deepEqual(fileOnly.clusters, { prod: "etcd://10.0.0.5:2379" });
    const env = {
      DOMEOS_LISTEN: "127.0.0.1:9001",
      DOMEOS_PORT_RANGE: "22000-22099",
      DOMEOS_CONFIG: toml,
    };
    const withEnv = loadConfig([], env);
    assert.equal(withEnv.listen, "127.0.0.1:9001");
    assert.deepEqual(withEnv.portRange, { min: 22000, max: 22099 });
    assert.equal(withEnv.sweepIntervalMs, 120_000, "file values the env does not set stay");
    const withFlags = loadConfig(["--listen", "127.0.0.1:9002", "--etcd", "127.0.0.1:2379"], env);
    assert.equal(withFlags.listen, "127.0.0.1:9002");
    assert.deepEqual(withFlags.clusters, { default: "etcd://127.0.0.1:2379" });
    assert.equal(
      loadConfig(["--allow-unauthenticated-agents"], {}).allowUnauthenticatedAgents,
      true,
    );
    assert.equal(
      loadConfig([], { DOMEOS_ALLOW_UNAUTHENTICATED_AGENTS: "false" }).allowUnauthenticatedAgents,
      false,
    );
  });

  test("bad values name their source", () => {
    assert.throws(
      () => loadConfig(["--port-range", "100-50"], {}),
      /flag --port-range: port range 100-50/,
    );
    assert.throws(
      () => loadConfig([], { DOMEOS_PORT_RANGE: "x" }),
      /environment DOMEOS_PORT_RANGE/,
    );
    assert.throws(() => loadConfig(["--bogus"], {}), /Unknown option '--bogus'/);
    assert.throws(() => loadConfig(["--cluster", "noequals"], {}), /must be NAME=STORE_URL/);
    assert.throws(
      () => loadConfig(["--sweep-interval", "soon"], {}),
      /flag --sweep-interval: time: invalid duration "soon"/,
    );
    const bad = join(dir, "bad.json");
    writeFileSync(bad, '{"listen": 8080, "colour": "blue"}');
    assert.throws(
      () => loadConfig(["--config", bad], {}),
      /config file .*bad.json: colour is not a known setting/,
    );
    writeFileSync(bad, "{nope");
    assert.throws(() => loadConfig(["--config", bad], {}), /not valid JSON/);
  });

  test("reserved keys cannot be allowed", async () => {
    const fx = await makeStore("embedded");
    try {
      await assert.rejects(
        startTestServer(fx.store, { extraAnnotationKeys: ["deployName"] }),
        /reserved for the server/,
      );
    } finally {
      await fx.destroy();
    }
  });
});

describe("token subcommand", () => {
  test("prints the pod and deployment credentials the server accepts", () => {
    const run = (args: string[]) =>
      spawnSync("bin/domeos-server", ["token", ...args], { encoding: "utf8" });
    const p = run(["--pod", "shop/web-1", "--cluster", "prod", "--secret", SECRET]);
    assert.equal(p.status, 0, p.stderr);
    assert.equal(p.stdout.trim(), mintPodToken(SECRET, "prod", "shop", "web-1"));
    const d = run(["--deployment", "shop/web", "--secret", SECRET]);
    assert.equal(d.stdout.trim(), mintDeploymentToken(SECRET, "default", "shop", "web"));
    const bad = run(["--pod", "justone", "--secret", SECRET]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /must be NAMESPACE\/NAME/);
  });
});

describe("health, metrics and limits", () => {
  test("healthz, readyz, metrics after traffic; 404/405 endpoints", async () => {
    const fx = await makeStore("embedded");
    const srv = await startTestServer(fx.store);
    try {
      assert.equal((await request("GET", `${srv.url}/healthz`)).status, 200);
      assert.equal((await request("GET", `${srv.url}/readyz`)).status, 200);
      await putPod(fx.store, "default", "m1", { hostIP: "10.9.0.1" });
      const t = bearer(podToken("default", "m1"));
      const got = await request(
        "POST",
        agentUrl(srv.url, "default", "m1", "ports"),
        { count: 3 },
        t,
      );
      await request(
        "PUT",
        agentUrl(srv.url, "default", "m1", "annotation"),
        { AUTO_PORT0: String((got.body.result as { ports: number[] }).ports[0]) },
        t,
      );
      await request("PUT", agentUrl(srv.url, "default", "m1", "annotation"), { bad: "1" }, t);
      const m = await request("GET", `${srv.url}/metrics`);
      assert.equal(m.status, 200);
      assert.match(
        m.text,
        /domeos_http_requests_total\{route="agent_annotation",method="PUT",code="200"\} 1/,
      );
      assert.match(
        m.text,
        /domeos_http_requests_total\{route="agent_annotation",method="PUT",code="403"\} 1/,
      );
      assert.match(
        m.text,
        /domeos_http_request_duration_seconds_bucket\{le="\+Inf",route="agent_annotation",method="PUT",code="200"\} 1/,
      );
      assert.match(m.text, /domeos_cas_retries_total/);
      assert.match(m.text, /domeos_ports_allocated_total\{cluster="default",host="10.9.0.1"\} 3/);
      assert.match(m.text, /domeos_ports_in_use\{cluster="default",host="10.9.0.1"\} 3/);
      assert.match(m.text, /domeos_ports_free\{cluster="default",host="10.9.0.1"\} 997/);
      const nf = await request("GET", `${srv.url}/nope`);
      assert.equal(nf.status, 404);
      assert.equal(nf.body.resultCode, 404);
      const na = await request("GET", agentUrl(srv.url, "default", "m1", "annotation"));
      assert.equal(na.status, 405);
    } finally {
      await srv.close();
      await fx.destroy();
    }
  });
});
