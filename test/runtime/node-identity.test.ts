// The process runtime adopts only pods of its own node identity (issue 15):
// a pod another runtime (another node or data dir) created for the same
// deployment in a shared store is neither adopted, restarted nor deleted.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { newPodObject } from "../../src/runtime/pod-object.js";
import { createPod } from "../../src/runtime/pod-writer.js";
import { nodeIdentity } from "../../src/server/lock/node-identity.js";
import { deployment, harness, waitFor } from "./helpers.js";

const h = harness({ nodeName: "node-a" });
after(() => h.cleanup());

test("another node's pod of the same deployment is left alone", async () => {
  const d = deployment({ name: "shared", replicas: 1 });
  const foreign = newPodObject({
    deployment: d,
    name: "shared-other",
    uid: "uid-other",
    nodeName: "node-b",
    hostIP: "10.0.0.2",
    argv: ["sleep", "600"],
    env: {},
    workingDir: "/tmp",
  });
  assert.ok(await createPod(h.store, foreign));
  await h.runtime.ensure(d);
  const mine = await waitFor("a pod of node-a", async () => {
    const ps = (await h.pods("shared")).filter((p) => p.spec.nodeName === "node-a");
    return ps.length === 1 ? ps[0] : undefined;
  });
  assert.notEqual(mine.metadata.name, "shared-other");
  assert.equal(h.runtime.replica("default", "shared-other"), undefined, "not run here");
  // scale to 0 and remove: only our pod goes
  await h.runtime.remove("default", "shared");
  const left = await h.pods("shared");
  assert.deepEqual(
    left.map((p) => p.metadata.name),
    ["shared-other"],
  );
  assert.equal(left[0]!.status.phase, "Pending", "untouched");
});

test("the server's node identity: this host and the data dir", () => {
  assert.equal(nodeIdentity("/srv/a"), nodeIdentity("/srv/a/"));
  assert.notEqual(nodeIdentity("/srv/a"), nodeIdentity("/srv/b"));
  assert.match(nodeIdentity("/srv/a"), /^[a-z0-9-]+-[0-9a-f]{8}$/);
});
