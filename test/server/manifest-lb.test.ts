// The load balancer's generated config (the domeos-lb ConfigMap) run by the
// real domeos-confd against the FAKE apiserver (test/store/fake-apiserver.ts:
// no real cluster here), with its real staged check (nginx -t): only Ready
// pods that are not being deleted reach the upstream. Paths of the image
// (/etc/nginx/domeos-lb, /app) are moved into a temp dir; nothing else changes.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { LB_CONF_DIR, lbConfigFiles } from "../../src/server/deploy/manifest-lb.js";
import { LB_PORT } from "../../src/server/deploy/manifest-system.js";
import { runConfd } from "../confd/nginx-harness.js";
import { FakeApiServer } from "../store/fake-apiserver.js";
import { writeKubeconfig } from "../store/fake-cluster.js";
import { NGINX_BIN } from "../support/nginx.js";

const ROOT = join(import.meta.dirname, "../../..");
const tmp = mkdtempSync(join(tmpdir(), "manifest-lb-"));
const api = new FakeApiServer();
after(async () => {
  await api.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const pod = (name: string, ready: boolean, extra: Record<string, unknown> = {}) => ({
  metadata: {
    name,
    namespace: "shop",
    annotations: { deployName: "web", AUTO_PORT0: "20010" },
    ...extra,
  },
  spec: { hostNetwork: true, nodeName: "node-1", containers: [{ name: "web", image: "web" }] },
  status: {
    podIP: `10.9.0.${name.length}`,
    hostIP: `10.9.0.${name.length}`,
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
  },
});

test("domeos-confd renders the generated upstream from the cluster; nginx -t accepts it", async () => {
  await api.start();
  api.upsertPod(pod("ready", true));
  api.upsertPod(pod("starting", false));
  api.upsertPod(pod("leaving", true, { deletionTimestamp: "2026-01-01T00:00:00Z" }));
  api.upsertPod({
    ...pod("other", true),
    metadata: {
      name: "other",
      namespace: "shop",
      annotations: { deployName: "api", AUTO_PORT0: "1" },
    },
  });
  const lbDir = join(tmp, "lb");
  const confd = join(tmp, "confd");
  mkdirSync(lbDir);
  mkdirSync(join(confd, "conf.d"), { recursive: true });
  mkdirSync(join(confd, "templates"));
  const files = lbConfigFiles({ namespace: "shop", deployName: "web" }, LB_PORT);
  const local = (s: string) =>
    s
      .replaceAll(LB_CONF_DIR, lbDir)
      .replaceAll("/app/examples/", `${ROOT}/examples/`)
      .replaceAll("/run/nginx/", `${tmp}/`)
      .replaceAll("/tmp/nginx-", `${tmp}/nginx-`);
  writeFileSync(join(lbDir, "nginx.conf"), local(files["nginx.conf"]!));
  writeFileSync(
    join(confd, "conf.d/upstream.toml"),
    local(files["upstream.toml"]!)
      // no nginx runs here: the check is real, the reload is not
      .replace(/^reload_cmd = .*$/m, 'reload_cmd = "true"')
      .replace(/\{\{\.src\}\} -e stderr"/, `{{.src}} -e stderr -p ${tmp}"`),
  );
  writeFileSync(join(confd, "templates/upstream.tmpl"), files["upstream.tmpl"]!);
  const kubeconfig = writeKubeconfig(api, join(tmp, "kubeconfig"));
  const r = await runConfd(
    [
      "-onetime",
      "-confdir",
      confd,
      "-config-file",
      "/nonexistent",
      "-backend",
      "kubernetes",
      "-node",
      kubeconfig,
    ],
    { NGINX_BIN },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = readFileSync(join(lbDir, "upstream.conf"), "utf8");
  const servers = [...out.matchAll(/^\s+server ([^\s;]+)/gm)].map((m) => m[1]);
  assert.deepEqual(servers, ["127.0.0.1:1", "10.9.0.5:20010"], out);
  assert.match(out, new RegExp(`listen ${LB_PORT} default_server;`));
});
