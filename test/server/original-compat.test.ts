// What the original DomeOS server accepted keeps working (docs/compatibility.md):
// any non-blank cluster name in the agent URL, "//api/..." from a
// DOMEOS_SERVER_ADDR with a trailing slash, and `domeos-server token` with the
// server's own secret (never a made-up one).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { mintPodToken } from "../../src/server/auth/pod-token.js";
import { loadConfig } from "../../src/server/config/load.js";
import {
  annotationsOf,
  bearer,
  makeStore,
  podToken,
  putPod,
  request,
  SECRET,
  startTestServer,
} from "./helpers.js";

describe("agent URL as the original server accepted it", () => {
  test("cluster names such as My_Cluster and a leading // reach the endpoint", async () => {
    const fx = await makeStore("embedded");
    const srv = await startTestServer(fx.store, { clusters: { My_Cluster: fx.store } });
    try {
      await putPod(fx.store, "default", "web-1");
      const t = bearer(podToken("default", "web-1", "My_Cluster"));
      const put = (url: string, v: string) => request("PUT", url, { AUTO_PORT0: v }, t);
      const path = "/api/agent/pod/My_Cluster/default/web-1/annotation";
      const plain = await put(`${srv.url}${path}`, "20001");
      assert.equal(plain.status, 200, plain.text);
      assert.equal((await annotationsOf(fx.store, "default", "web-1")).AUTO_PORT0, "20001");
      // DOMEOS_SERVER_ADDR="http://host:port/" + "/api/..." (domeize joins verbatim)
      const doubled = await put(`${srv.url}/${path}`, "20002");
      assert.equal(doubled.status, 200, doubled.text);
      assert.equal((await annotationsOf(fx.store, "default", "web-1")).AUTO_PORT0, "20002");
      // an unknown cluster is still a 404 naming the served ones; "/" cannot sneak in
      const other = await put(`${srv.url}/api/agent/pod/Other/default/web-1/annotation`, "1");
      assert.equal(other.status, 404);
      assert.match(other.text, /unknown cluster \\?"Other\\?".*My_Cluster/);
      const slash = await put(
        `${srv.url}/api/agent/pod/My%2FCluster/default/web-1/annotation`,
        "1",
      );
      assert.equal(slash.status, 400);
      assert.match(slash.text, /must not contain '\/'/);
    } finally {
      await srv.close();
      await fx.destroy();
    }
  });

  test("configured cluster names: any non-blank name; blank or '/' is refused, naming it", () => {
    assert.deepEqual(loadConfig(["--cluster", "My_Cluster=etcd://127.0.0.1:2379"], {}).clusters, {
      My_Cluster: "etcd://127.0.0.1:2379",
    });
    assert.throws(
      () => loadConfig(["--cluster", " =etcd://127.0.0.1:2379"], {}),
      /flag --cluster: cluster name " " must not be blank/,
    );
    assert.throws(
      () => loadConfig([], { DOMEOS_CLUSTERS: "a/b=etcd://127.0.0.1:2379" }),
      /environment DOMEOS_CLUSTERS: cluster name "a\/b" must not contain '\/'/,
    );
  });
});

test("durations: Go syntax (1m30s) in flags, env and file; bare seconds kept; Go's errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "server-durations-"));
  try {
    const file = join(dir, "server.json");
    writeFileSync(file, JSON.stringify({ externalHold: "1h2m3.5s", sweepInterval: "30" }));
    const c = loadConfig(["--config", file, "--request-timeout", "1m30s"], {
      DOMEOS_SWEEP_INTERVAL: "250ms",
    });
    assert.equal(c.requestTimeoutMs, 90_000);
    assert.equal(c.sweepIntervalMs, 250);
    assert.equal(c.externalHoldMs, 3_723_500);
    assert.equal(loadConfig([], { DOMEOS_REQUEST_TIMEOUT: "30" }).requestTimeoutMs, 30_000);
    // Go 1.19's messages (test/fixtures/golib/duration), naming where the value came from
    assert.throws(
      () => loadConfig(["--request-timeout", "1m30"], {}),
      /^Error: flag --request-timeout: time: missing unit in duration "1m30" \(Go syntax/,
    );
    assert.throws(
      () => loadConfig([], { DOMEOS_EXTERNAL_HOLD: "1d" }),
      /environment DOMEOS_EXTERNAL_HOLD: time: unknown unit "d" in duration "1d"/,
    );
    assert.throws(() => loadConfig(["--sweep-interval", "0s"], {}), /must be positive/);
    assert.throws(() => loadConfig(["--sweep-interval=-1m"], {}), /must be positive/);
    assert.throws(() => loadConfig(["--sweep-interval", "1000h"], {}), /at most 596h31m23.647s/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("domeos-server token uses the server's secret", () => {
  const dir = mkdtempSync(join(tmpdir(), "server-token-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[], env: Record<string, string> = {}) => {
    const clean = { ...process.env };
    delete clean.DOMEOS_SECRET;
    delete clean.DOMEOS_DATA_DIR;
    return spawnSync("bin/domeos-server", ["token", ...args], {
      encoding: "utf8",
      env: { ...clean, ...env },
    });
  };

  test("--secret-file", () => {
    const file = join(dir, "secret");
    writeFileSync(file, `${SECRET}\n`);
    const r = run(["--pod", "shop/web-1", "--cluster", "My_Cluster", "--secret-file", file]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), mintPodToken(SECRET, "My_Cluster", "shop", "web-1"));
    const missing = run(["--pod", "shop/web-1", "--secret-file", join(dir, "nope")]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /flag --secret-file: .*ENOENT/);
  });

  test("the data dir's agent-secret is used; without any secret it refuses and creates none", () => {
    const empty = join(dir, "empty-data");
    const r = run(["--pod", "shop/web-1", "--data-dir", empty]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /no server secret: .*agent-secret does not exist/);
    assert.equal(existsSync(empty), false, "no data dir, no secret made up");
    const viaEnv = run(["--pod", "shop/web-1"], { DOMEOS_DATA_DIR: empty });
    assert.equal(viaEnv.status, 2);

    const data = join(dir, "data");
    const served = mkdtempSync(`${data}-`);
    writeFileSync(join(served, "agent-secret"), `${SECRET}\n`, { mode: 0o600 });
    const ok = run(["--pod", "shop/web-1", "--data-dir", served]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), mintPodToken(SECRET, "default", "shop", "web-1"));
    assert.deepEqual(readdirSync(served), ["agent-secret"]);
  });
});
