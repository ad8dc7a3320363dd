// The port ledger's reaper with the pods in the Kubernetes API (FAKE
// apiserver, test/store/fake-apiserver.ts: no real one here) and the ledger
// in another store, as on a cluster: a deleted pod's ports are freed from
// the watch; when the watch's resume point was compacted away (410 Gone) the
// reaper sweeps and watches again from a fresh list, and the next deletion is
// seen again.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { LogFields, Logger } from "../../src/server/log/logger.js";
import { LEDGER_PREFIX } from "../../src/server/ports/keys.js";
import type { RunningServer } from "../../src/server/server.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/store.js";
import { FakeApiServer } from "../store/fake-apiserver.js";
import { kubernetesStoreUrl, writeKubeconfig } from "../store/fake-cluster.js";
import {
  agentUrl,
  bearer,
  podObject,
  podToken,
  request,
  startTestServer,
  until,
} from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "kubernetes-reaper-"));
const api = new FakeApiServer();
const warnings: { msg: string; fields?: LogFields }[] = [];
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (msg, fields) => warnings.push({ msg, fields }),
  error: (msg, fields) => warnings.push({ msg, fields }),
};
let store: Store;
let srv: RunningServer;

before(async () => {
  await api.start();
  const kubeconfig = writeKubeconfig(api, join(tmp, "kubeconfig"));
  store = await openStore(kubernetesStoreUrl(kubeconfig, `embedded:${join(tmp, "ledger")}`));
  // no periodic sweep in this test: what frees ports is the watch (or the sweep after a 410)
  srv = await startTestServer(store, { sweepIntervalMs: 3_600_000, logger });
});
after(async () => {
  await srv?.close();
  await store?.close();
  await api.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** A pod "the kubelet" created on `host`, with `count` ports taken through the agent API. */
async function podWithPorts(name: string, host: string, count: number): Promise<number[]> {
  api.upsertPod(podObject("default", name, { hostIP: host }));
  const r = await request(
    "POST",
    agentUrl(srv.url, "default", name, "ports"),
    { count },
    bearer(podToken("default", name)),
  );
  assert.equal(r.status, 200, r.text);
  return (r.body.result as { ports: number[] }).ports;
}

const held = async (host: string) => (await store.list(`${LEDGER_PREFIX}${host}/`)).kvs.length;
const watches = () => api.requests.filter((r) => r.path.includes("watch=true")).length;

test("a pod deleted in the apiserver: its ports are freed from the watch", async () => {
  await podWithPorts("first", "10.7.0.1", 2);
  assert.equal(await held("10.7.0.1"), 2);
  api.removePod("default", "first");
  await until("the ports of the deleted pod freed", async () => (await held("10.7.0.1")) === 0);
});

test("the watch's resume point compacted (410 Gone): the reaper watches again from a fresh list and sees the next deletion", async () => {
  await podWithPorts("missed", "10.7.0.2", 1);
  await podWithPorts("next", "10.7.0.3", 1);
  const before = watches();
  // the apiserver ends the watches (its timeout); before the reaper resumes,
  // a deletion happens and the history behind it is compacted
  api.endWatches();
  api.removePod("default", "missed");
  api.compact(api.currentRv());
  await until("the reaper's watch ended as compacted", async () =>
    warnings.some((w) => String((w.fields?.err as Error | undefined)?.name) === "CompactedError"),
  );
  await until("a new watch", async () => watches() > before + 1);
  api.removePod("default", "next");
  await until("the next deletion seen", async () => (await held("10.7.0.3")) === 0);
});
