// The per-pod port quota holds across server processes (issue 15): two real
// domeos-server processes on one real etcd, a pod's containers asking both at
// once for more than the pod's quota. The quota is decided by one
// compare-and-swap on the pod's grant record (docs/ports-ledger.md), so at
// no point does the pod hold more than its quota, whichever process served.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  LEDGER_PREFIX,
  parseAssignment,
  parseRecord,
  podAssignmentPrefix,
  quotaKey,
} from "../../src/server/ports/keys.js";
import { EtcdStore } from "../../src/store/etcd.js";
import { podKey } from "../../src/store/store.js";
import { EtcdServer } from "../support/etcd.js";
import { agentUrl, bearer, podToken, putPod, spawnServer, until } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "quota-replicas-"));
const children: ChildProcess[] = [];
let etcd: EtcdServer;
let store: EtcdStore;
let replicas: string[] = [];

/** Containers per pod, each asking for QUOTA - 1 ports: any two together are over the quota. */
const CONTAINERS = 6;
const QUOTA = 4;
const ROUNDS = 12;

/** One replica: bin/domeos-server as its own process, no rate limit in the way; ended in after(). */
async function replica(storeUrl: string): Promise<string> {
  const server = await spawnServer(storeUrl, tmp, ["--runtime=none", "--agent-rate=0"]);
  children.push(server.child);
  return server.url;
}

before(async () => {
  etcd = new EtcdServer();
  await etcd.start();
  store = new EtcdStore({ endpoints: [etcd.endpoint] });
  const url = etcd.endpoint.replace(/^http/, "etcd");
  replicas = await Promise.all([replica(url), replica(url)]);
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await store?.close();
  await etcd?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

/** Ports the pod holds: in its assignments, and in the ledger's records. */
async function holdings(pod: string): Promise<{ assigned: number; records: number }> {
  let assigned = 0;
  for (const kv of (await store.list(podAssignmentPrefix("default", pod))).kvs)
    assigned += parseAssignment(kv.value)?.ports.length ?? 0;
  let records = 0;
  for (const kv of (await store.list(LEDGER_PREFIX)).kvs) {
    const r = parseRecord(kv.value);
    if (r?.kind === "pod" && r.pod === pod) records++;
  }
  return { assigned, records };
}

test(`${ROUNDS} pods x ${CONTAINERS} containers racing over two processes: no pod ever holds more than its quota of ${QUOTA}`, {
  timeout: 240_000,
}, async () => {
  let granted = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const pod = `race-${round}`;
    await putPod(store, "default", pod, { hostIP: "10.30.0.1", needPorts: QUOTA });
    const auth = bearer(podToken("default", pod));
    const results = await Promise.all(
      Array.from({ length: CONTAINERS }, async (_, c) => {
        const res = await fetch(agentUrl(replicas[c % 2] as string, "default", pod, "ports"), {
          method: "POST",
          headers: { "content-type": "application/json", ...auth },
          body: JSON.stringify({ count: QUOTA - 1, container: `c${c}` }),
        });
        const body = (await res.json()) as { resultMsg?: string };
        return { status: res.status, msg: body.resultMsg ?? "" };
      }),
    );
    const ok = results.filter((r) => r.status === 200).length;
    for (const r of results) {
      if (r.status !== 200) {
        assert.ok(r.status === 409 || r.status === 503, `${pod}: ${r.status} ${r.msg}`);
        if (r.status === 409) assert.match(r.msg, /may hold at most 4 ports \(its quota\)/);
      }
    }
    const held = await holdings(pod);
    assert.equal(ok, 1, `${pod}: exactly one container fits (${JSON.stringify(results)})`);
    assert.ok(held.assigned <= QUOTA, `${pod}: assignments hold ${held.assigned} > ${QUOTA}`);
    assert.ok(held.records <= QUOTA, `${pod}: ledger records ${held.records} > ${QUOTA}`);
    granted += ok;
  }
  assert.equal(granted, ROUNDS);
});

test("a deleted pod's grants go with its ports (the servers' pod-deletion watch)", async () => {
  const pod = "race-0";
  assert.ok(await store.get(quotaKey("default", pod)), "the grant record exists");
  await store.delete(podKey("default", pod));
  await until(
    "grant record and ports freed",
    async () => {
      const held = await holdings(pod);
      return (
        (await store.get(quotaKey("default", pod))) === null &&
        held.assigned === 0 &&
        held.records === 0
      );
    },
    60_000,
  );
});
