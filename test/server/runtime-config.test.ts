// The runtime settings of domeos-server: --runtime / DOMEOS_RUNTIME / runtime
// key, the command's default (process, unless cluster "default" is absent or
// in Kubernetes), and --host-ip.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { cliRuntimeName } from "../../src/server/config/config.js";
import { loadConfig } from "../../src/server/config/load.js";
import { recordOnlyRuntime } from "../../src/server/deploy/runtime.js";

test("runtime process from flag, environment and config file; a bad name is refused with its source", () => {
  assert.equal(loadConfig(["--runtime", "process"], {}).runtimeName, "process");
  assert.equal(loadConfig([], { DOMEOS_RUNTIME: "process" }).runtimeName, "process");
  assert.equal(
    loadConfig(["--runtime", "none"], { DOMEOS_RUNTIME: "process" }).runtimeName,
    "none",
  );
  const dir = mkdtempSync(join(tmpdir(), "runtime-config-"));
  try {
    const file = join(dir, "server.toml");
    writeFileSync(file, 'runtime = "process"\nhostIP = "10.0.0.5"\n');
    const c = loadConfig(["--config", file], {});
    assert.equal(c.runtimeName, "process");
    assert.equal(c.hostIP, "10.0.0.5");
    writeFileSync(file, 'runtime = "docker"\n');
    assert.throws(
      () => loadConfig(["--config", file], {}),
      /config file .*server\.toml: runtime: runtime "docker" must be process, kubernetes or none/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(
    () => loadConfig([], { DOMEOS_RUNTIME: "proc" }),
    /environment DOMEOS_RUNTIME: runtime "proc" must be process, kubernetes or none/,
  );
});

test("--host-ip must be an IP address", () => {
  assert.equal(loadConfig(["--host-ip", "192.168.1.7"], {}).hostIP, "192.168.1.7");
  assert.equal(loadConfig([], { DOMEOS_HOST_IP: "::1" }).hostIP, "::1");
  assert.throws(
    () => loadConfig(["--host-ip", "my-host"], {}),
    /flag --host-ip: "my-host" must be an IP address/,
  );
  assert.throws(
    () => loadConfig([], { DOMEOS_HOST_IP: "10.0.0.5; rm" }),
    /environment DOMEOS_HOST_IP: .* must be an IP address/,
  );
});

test("drain settings: confd /healthz URLs and a delay from flag, environment and file; bad ones refused", () => {
  const u = "http://127.0.0.1:9101/healthz";
  const c = loadConfig(["--drain-confirm-url", u, "--drain-delay", "1500ms"], {});
  assert.deepEqual(c.drainConfirmUrls, [u]);
  assert.equal(c.drainDelayMs, 1500);
  const e = loadConfig([], {
    DOMEOS_DRAIN_CONFIRM_URLS: `${u},http://127.0.0.1:9102/healthz`,
    DOMEOS_DRAIN_DELAY: "2",
  });
  assert.deepEqual(e.drainConfirmUrls, [u, "http://127.0.0.1:9102/healthz"]);
  assert.equal(e.drainDelayMs, 2000);
  const dir = mkdtempSync(join(tmpdir(), "drain-config-"));
  try {
    const file = join(dir, "server.json");
    writeFileSync(file, JSON.stringify({ drainConfirmUrls: [u], drainDelay: "4s" }));
    const f = loadConfig(["--config", file], {});
    assert.deepEqual(f.drainConfirmUrls, [u]);
    assert.equal(f.drainDelayMs, 4000);
    writeFileSync(file, JSON.stringify({ drainConfirmUrls: u }));
    assert.throws(
      () => loadConfig(["--config", file], {}),
      /drainConfirmUrls must be a list of URLs/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(
    () => loadConfig(["--drain-confirm-url", "127.0.0.1:9101"], {}),
    /flag --drain-confirm-url: "127.0.0.1:9101" must be an http\(s\) URL/,
  );
  assert.throws(
    () => loadConfig([], { DOMEOS_DRAIN_CONFIRM_URLS: "file:///etc/passwd" }),
    /environment DOMEOS_DRAIN_CONFIRM_URLS: "file:\/\/\/etc\/passwd" must be an http\(s\) URL/,
  );
  assert.throws(() => loadConfig(["--drain-delay", "soon"], {}), /flag --drain-delay: /);
});

test("the command runs deployments here by default, unless cluster default is absent or in Kubernetes", () => {
  assert.equal(cliRuntimeName({}), "process");
  assert.equal(cliRuntimeName({ clusters: { default: "etcd://127.0.0.1:2379" } }), "process");
  assert.equal(cliRuntimeName({ clusters: { default: "embedded" } }), "process");
  assert.equal(cliRuntimeName({ clusters: { default: "kubernetes:" } }), "none");
  assert.equal(cliRuntimeName({ clusters: { east: "etcd://127.0.0.1:2379" } }), "none");
  assert.equal(cliRuntimeName({ runtimeName: "kubernetes" }), "kubernetes");
  assert.equal(cliRuntimeName({ runtimeName: "none" }), "none");
  assert.equal(cliRuntimeName({ runtime: recordOnlyRuntime }), "none");
});
