// confd flags that were parsed and then ignored: -scheme picks the scheme of
// host:port nodes; -srv-domain / -srv-record (DNS SRV discovery) say that they
// are not supported instead of silently doing nothing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { etcdOptions } from "../../src/confd/backends/etcdv3-options.js";
import { loadSettings } from "../../src/confd/cli/settings.js";

const NOFILE = ["-config-file", "/nonexistent/confd.toml"];

test("-scheme https makes host:port nodes TLS; explicit URLs keep theirs; bad schemes refused", () => {
  const nodes = ["10.0.0.1:2379", "http://10.0.0.2:2379", "10.0.0.3"];
  assert.deepEqual(etcdOptions({ backend: "etcdv3", nodes, scheme: "https" }).endpoints, [
    "https://10.0.0.1:2379",
    "http://10.0.0.2:2379",
    "https://10.0.0.3:2379",
  ]);
  assert.deepEqual(etcdOptions({ backend: "etcdv3", nodes, scheme: "http" }).endpoints, [
    "http://10.0.0.1:2379",
    "http://10.0.0.2:2379",
    "http://10.0.0.3:2379",
  ]);
  const { settings } = loadSettings([...NOFILE, "-scheme", "https"]);
  assert.equal(settings.scheme, "https");
  assert.throws(
    () => loadSettings([...NOFILE, "-scheme", "ftp"]),
    /-scheme must be http or https, got "ftp"/,
  );
});

test("-scheme from the config file (scheme = ...)", () => {
  const dir = mkdtempSync(join(tmpdir(), "confd-scheme-"));
  try {
    const file = join(dir, "confd.toml");
    writeFileSync(file, 'backend = "etcdv3"\nscheme = "https"\nnodes = ["127.0.0.1:2379"]\n');
    assert.equal(loadSettings(["-config-file", file]).settings.scheme, "https");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("-srv-domain and -srv-record warn that SRV discovery is unsupported", () => {
  for (const args of [
    ["-srv-domain", "example.com"],
    ["-srv-record", "_etcd-client._tcp.example.com"],
  ]) {
    const { warnings } = loadSettings([...NOFILE, ...args]);
    assert.ok(
      warnings.some((w) => /SRV discovery of backend nodes is not supported; ignored/.test(w)),
      `${args[0]}: ${warnings.join("; ")}`,
    );
  }
  assert.ok(!loadSettings([...NOFILE]).warnings.some((w) => /SRV/.test(w)));
});

test("-client-insecure reaches the etcd client; alone it does not switch host:port nodes to TLS", () => {
  const o = etcdOptions({ backend: "etcdv3", nodes: ["10.0.0.1:2379"], clientInsecure: true });
  assert.deepEqual(o.tls, { ca: undefined, cert: undefined, key: undefined, insecure: true });
  assert.deepEqual(o.endpoints, ["http://10.0.0.1:2379"]);
  const withScheme = etcdOptions({
    backend: "etcdv3",
    nodes: ["10.0.0.1:2379"],
    scheme: "https",
    clientInsecure: true,
  });
  assert.deepEqual(withScheme.endpoints, ["https://10.0.0.1:2379"]);
  assert.equal(etcdOptions({ backend: "etcdv3", nodes: [] }).tls, undefined);
});
