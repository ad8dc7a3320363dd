// The kubernetes backend against a FAKE apiserver (test/store/fake-apiserver.ts:
// no real apiserver can run here). Pods appear as JSON under
// /registry/pods/<ns>/<name>, so the seed template renders from a cluster;
// the mirror follows watch events, dropped watches and 410 (compacted).
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createBackend } from "../../src/confd/backends/index.js";
import { FakeApiServer } from "../store/fake-apiserver.js";
import { writeKubeconfig } from "../store/fake-cluster.js";
import { confdArgs, EXAMPLE, runConfd, until } from "./nginx-harness.js";

const PODS = "/registry/pods/default";

const pod = (name: string, ip: string, port: string, deployName = "img-host-test") => ({
  metadata: {
    name,
    namespace: "default",
    annotations: { deployName, accessType: "DIY", AUTO_PORT0: port },
  },
  spec: { hostNetwork: true, containers: [{ name: "app", image: "app" }] },
  status: { podIP: ip, phase: "Running" },
});

describe("kubernetes backend (fake apiserver)", () => {
  const api = new FakeApiServer();
  const tmp = mkdtempSync(join(tmpdir(), "confd-k8s-"));
  const kubeconfig = join(tmp, "kubeconfig");

  before(async () => {
    await api.start();
    writeKubeconfig(api, kubeconfig);
    api.upsertPod(pod("web-1", "10.2.0.1", "20001"));
    api.upsertPod(pod("web-2", "10.2.0.2", "20002"));
    api.upsertPod({
      ...pod("db-1", "10.3.0.1", "5432"),
      metadata: { name: "db-1", namespace: "other" },
    });
  });
  after(async () => {
    await api.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test("snapshot of one namespace, then events, dropped watches and 410", async () => {
    const b = createBackend({
      backend: "kubernetes",
      nodes: [kubeconfig],
      watch: true,
      log: () => {},
    });
    const changes: (string[] | null)[] = [];
    b.onChange((c) => changes.push(c));
    await b.start([PODS]);
    try {
      assert.deepEqual(b.view().prefixed("/registry/pods/"), [`${PODS}/web-1`, `${PODS}/web-2`]);
      const web1 = JSON.parse(b.view().get(`${PODS}/web-1`)!);
      assert.equal(web1.kind, "Pod");
      assert.equal(web1.metadata.annotations.AUTO_PORT0, "20001");

      api.upsertPod(pod("web-3", "10.2.0.3", "20003"));
      await until(() => b.view().get(`${PODS}/web-3`) !== undefined, 5000, "the new pod");
      api.removePod("default", "web-1");
      await until(() => b.view().get(`${PODS}/web-1`) === undefined, 5000, "the deleted pod");

      api.dropWatches(); // an apiserver restart
      api.upsertPod(pod("web-4", "10.2.0.4", "20004"));
      await until(() => b.view().get(`${PODS}/web-4`) !== undefined, 5000, "resume after a drop");

      // Behind a compaction the watch gets 410 Gone: re-list.
      api.dropWatches();
      api.upsertPod(pod("web-5", "10.2.0.5", "20005"));
      api.compact(api.upsertPod(pod("web-2", "10.2.0.2", "20099")));
      await until(
        () =>
          JSON.parse(b.view().get(`${PODS}/web-2`) ?? "{}").metadata?.annotations?.AUTO_PORT0 ===
          "20099",
        8000,
        "convergence after 410",
      );
      assert.deepEqual(b.view().prefixed(`${PODS}/`), [
        `${PODS}/web-2`,
        `${PODS}/web-3`,
        `${PODS}/web-4`,
        `${PODS}/web-5`,
      ]);
      assert.equal(b.status().connected, true);
    } finally {
      await b.close();
    }
  });

  test("domeos-confd -onetime renders the example upstream from the cluster", async () => {
    const confdir = join(tmp, "confdir");
    mkdirSync(join(confdir, "conf.d"), { recursive: true });
    mkdirSync(join(confdir, "templates"), { recursive: true });
    copyFileSync(
      join(EXAMPLE, "templates/upstream.tmpl"),
      join(confdir, "templates/upstream.tmpl"),
    );
    const dest = join(tmp, "upstream.conf");
    writeFileSync(
      join(confdir, "conf.d/upstream.toml"),
      `[template]\nsrc = "upstream.tmpl"\ndest = ${JSON.stringify(dest)}\nkeys = ["/registry/pods/default"]\n`,
    );
    // runConfd is asynchronous: the fake apiserver answers from this very process.
    const r = await runConfd(["-onetime", ...confdArgs(confdir, "kubernetes", kubeconfig)]);
    assert.equal(r.code, 0, r.stderr);
    const servers = [...readFileSync(dest, "utf8").matchAll(/server (10\.[^\s;]+)/g)].map(
      (m) => m[1],
    );
    // The pods the first test left in namespace "default", in key order; db-1 is in "other".
    assert.deepEqual(servers, [
      "10.2.0.2:20099",
      "10.2.0.3:20003",
      "10.2.0.4:20004",
      "10.2.0.5:20005",
    ]);
  });
});
