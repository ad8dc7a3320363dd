// ProcessRuntime, the server's view of the standalone runtime: what it
// refuses up front, and which stored deployments it runs (its cluster's, with
// a command) — a deployment stored under another runtime or cluster never
// starts or stops its pods.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProcessRuntime } from "../../src/runtime/server-adapter.js";
import type { Deployment } from "../../src/server/deploy/model.js";
import { harness, waitFor } from "./helpers.js";

function deployment(over: Partial<Deployment> = {}): Deployment {
  return {
    name: "web",
    namespace: "default",
    cluster: "local",
    replicas: 1,
    networkMode: "HOST",
    ports: 1,
    templates: [],
    accessType: "DIY",
    env: {},
    command: ["sleep", "30"],
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    ...over,
  };
}

test("validate: command, ports and the runtime's cluster, all problems at once", async () => {
  const h = harness();
  try {
    const rt = new ProcessRuntime(h.runtime);
    assert.deepEqual(
      rt.validate({ name: "web", command: ["true"], ports: 1, cluster: "local" }),
      [],
    );
    const problems = rt.validate({ name: "web", image: "x:1", ports: 0, cluster: "east" });
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(problems[0]!, /command is required/);
    assert.match(problems[1]!, /at least 1 port/);
    assert.match(
      problems[2]!,
      /cluster "east": the process runtime runs the deployments of cluster "local" only/,
    );
  } finally {
    await h.cleanup();
  }
});

test("another cluster's or an image-only deployment neither starts pods nor removes ours", async () => {
  const h = harness();
  try {
    const rt = new ProcessRuntime(h.runtime);
    await rt.ensure(deployment());
    await waitFor(
      "our pod running",
      async () => (await h.pods("web"))[0]?.status?.phase === "Running",
    );
    const ours = (await h.pods("web")).map((p) => p.metadata.name);

    await rt.ensure(deployment({ cluster: "east", replicas: 3 }));
    await rt.ensure(deployment({ command: undefined, image: "web:1", replicas: 3 }));
    await rt.resume(deployment({ cluster: "east", replicas: 2 }), {
      serverAddr: "http://127.0.0.1:9",
      podToken: () => "t",
      deploymentToken: "t",
    });
    assert.deepEqual(
      (await h.pods("web")).map((p) => p.metadata.name),
      ours,
    );

    await rt.remove("default", "web", deployment({ cluster: "east" }));
    assert.deepEqual(
      (await h.pods("web")).map((p) => p.metadata.name),
      ours,
    );
    assert.ok(h.runtime.replica("default", ours[0]!), "our replica still runs");

    await rt.remove("default", "web", deployment());
    assert.deepEqual(await h.pods("web"), []);
  } finally {
    await h.cleanup();
  }
});
