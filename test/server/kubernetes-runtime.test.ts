// The Kubernetes runtime against a FAKE apiserver (no real apiserver can run
// here): a local HTTP server that records requests and answers like the
// apiserver does for server-side apply and delete. It checks what we send.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { mintDeploymentToken } from "../../src/server/auth/pod-token.js";
import { KubernetesRuntime } from "../../src/server/deploy/kubernetes-runtime.js";
import type { RunningServer } from "../../src/server/server.js";
import {
  ADMIN,
  bearer,
  makeStore,
  request,
  SECRET,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

interface Seen {
  method: string;
  path: string;
  contentType?: string;
  auth?: string;
  body: Record<string, unknown> | null;
}

/**
 * FAKE apiserver: records requests; `fail` makes the next request answer that
 * status; `hold` runs before the answer to the next Deployment apply.
 */
function fakeApiserver() {
  const seen: Seen[] = [];
  let fail: number | null = null;
  let hold: (() => Promise<void>) | null = null;
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (d) => {
      text += d;
    });
    req.on("end", async () => {
      if (hold && req.method === "PATCH" && req.url!.includes("/deployments/")) {
        const h = hold;
        hold = null;
        await h();
      }
      seen.push({
        method: req.method!,
        path: req.url!,
        contentType: req.headers["content-type"],
        auth: req.headers.authorization,
        body: text ? JSON.parse(text) : null,
      });
      const status =
        fail ?? (req.method === "DELETE" && req.url!.includes("/secrets/") ? 404 : 200);
      fail = null;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          status === 200
            ? text
              ? JSON.parse(text)
              : {}
            : { kind: "Status", message: `fake says ${status}` },
        ),
      );
    });
  });
  return {
    seen,
    failNext: (s: number) => {
      fail = s;
    },
    holdNextDeploymentApply: (h: () => Promise<void>) => {
      hold = h;
    },
    async start() {
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "kube-token" }],
    contexts: [{ name: "c", cluster: "fake", user: "u" }],
    currentContext: "c",
  });
  return kc;
}

describe("kubernetes runtime (fake apiserver)", () => {
  const api = fakeApiserver();
  let fx: StoreFixture;
  let srv: RunningServer;
  before(async () => {
    const url = await api.start();
    fx = await makeStore("embedded");
    srv = await startTestServer(fx.store, {
      runtime: new KubernetesRuntime(kubeConfig(url)),
      publicUrl: "http://domeos:8080",
      // Not domeize's default: the applied pods must be told (AVAILABLE_PORT_START/END).
      portRange: { min: 21000, max: 21999 },
    });
  });
  after(async () => {
    await srv.close();
    await fx.destroy();
    await api.close();
  });
  const admin = (method: string, path: string, body?: unknown) =>
    request(method, `${srv.url}${path}`, body, bearer(ADMIN));

  test("create applies the Secret and the Deployment with server-side apply", async () => {
    const r = await admin("POST", "/api/deployments", {
      name: "web",
      namespace: "shop",
      image: "reg/web:1",
      ports: 2,
      replicas: 2,
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(
      api.seen.map((s) => `${s.method} ${s.path}`),
      [
        "PATCH /api/v1/namespaces/shop/secrets/web-domeos-agent?fieldManager=domeos-server&force=true",
        "PATCH /apis/apps/v1/namespaces/shop/deployments/web?fieldManager=domeos-server&force=true",
      ],
    );
    for (const s of api.seen) {
      assert.equal(s.contentType, "application/apply-patch+yaml");
      assert.equal(s.auth, "Bearer kube-token");
    }
    const secret = api.seen[0]!.body as { stringData: Record<string, string> };
    assert.equal(
      secret.stringData.DOMEOS_AGENT_TOKEN,
      mintDeploymentToken(SECRET, "default", "shop", "web"),
    );
    const dep = api.seen[1]!.body as {
      spec: {
        replicas: number;
        template: {
          spec: { hostNetwork: boolean; containers: { env: { name: string; value?: string }[] }[] };
        };
      };
    };
    assert.equal(dep.spec.replicas, 2);
    assert.equal(dep.spec.template.spec.hostNetwork, true);
    assert.deepEqual(
      dep.spec.template.spec.containers[0]!.env.filter((e) => e.name.startsWith("AVAILABLE_PORT_")),
      [
        { name: "AVAILABLE_PORT_START", value: "21000" },
        { name: "AVAILABLE_PORT_END", value: "21999" },
      ],
    );
  });

  test("scale re-applies with the new replica count", async () => {
    api.seen.length = 0;
    const r = await admin("PATCH", "/api/deployments/shop/web", { replicas: 7 });
    assert.equal(r.status, 200, r.text);
    assert.equal((api.seen[1]!.body as { spec: { replicas: number } }).spec.replicas, 7);
  });

  test("apiserver errors surface with its message; the stored deployment stays as it was", async () => {
    const stored = async () => (await admin("GET", "/api/deployments/shop/web")).body.result;
    const before = await stored();
    api.failNext(422);
    const r = await admin("PATCH", "/api/deployments/shop/web", { replicas: 3 });
    assert.equal(r.status, 502);
    assert.match(
      String(r.body.resultMsg),
      /kubernetes PATCH \/api\/v1\/namespaces\/shop\/secrets\/web-domeos-agent: HTTP 422: fake says 422/,
    );
    assert.deepEqual(await stored(), before, "refused: the store is not ahead of the cluster");
    api.seen.length = 0;
    api.failNext(503);
    const u = await admin("PATCH", "/api/deployments/shop/web", { replicas: 3 });
    assert.equal(u.status, 503);
    assert.deepEqual(await stored(), before);
    // the outcome of a 503 is unknown: what the store holds is applied again
    const deploymentApplies = api.seen.filter((s) => s.path.includes("/deployments/web?"));
    assert.equal(
      (deploymentApplies.at(-1)!.body as { spec: { replicas: number } }).spec.replicas,
      7,
      "the cluster is brought back to the stored replicas",
    );
  });

  test("a create the apiserver refuses is not stored; the same create then succeeds", async () => {
    api.failNext(403);
    const r = await admin("POST", "/api/deployments", {
      name: "api",
      namespace: "shop",
      image: "reg/api:1",
      ports: 1,
    });
    assert.equal(r.status, 502, r.text);
    assert.match(String(r.body.resultMsg), /HTTP 403: fake says 403/);
    assert.equal((await admin("GET", "/api/deployments/shop/api")).status, 404);
    assert.equal((await admin("GET", "/api/deployments/shop/api/history")).status, 404);
    const again = await admin("POST", "/api/deployments", {
      name: "api",
      namespace: "shop",
      image: "reg/api:1",
      ports: 1,
    });
    assert.equal(again.status, 201, again.text);
    assert.equal((await admin("DELETE", "/api/deployments/shop/api")).status, 200);
  });

  test("two changes at once: the one the store refuses (409) leaves the cluster on the stored one", async () => {
    let other: Awaited<ReturnType<typeof admin>> | undefined;
    // while the first change's Deployment apply is in flight, a second change lands
    api.holdNextDeploymentApply(async () => {
      other = await admin("PATCH", "/api/deployments/shop/web", { replicas: 5 });
    });
    api.seen.length = 0;
    const first = await admin("PATCH", "/api/deployments/shop/web", { replicas: 4 });
    assert.equal(other?.status, 200, other?.text);
    assert.equal(first.status, 409, first.text);
    assert.match(String(first.body.resultMsg), /changed meanwhile/);
    const stored = (await admin("GET", "/api/deployments/shop/web")).body.result as {
      replicas: number;
    };
    assert.equal(stored.replicas, 5);
    const applied = api.seen
      .filter((s) => s.path.includes("/deployments/web?"))
      .map((s) => (s.body as { spec: { replicas: number } }).spec.replicas);
    assert.equal(applied.at(-1), 5, `last apply is the stored deployment (applies: ${applied})`);
  });

  test("delete removes the Deployment and the Secret (absent is fine)", async () => {
    api.seen.length = 0;
    const r = await admin("DELETE", "/api/deployments/shop/web");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      api.seen.map((s) => `${s.method} ${s.path}`),
      [
        "DELETE /apis/apps/v1/namespaces/shop/deployments/web",
        "DELETE /api/v1/namespaces/shop/secrets/web-domeos-agent",
      ],
    );
  });
});
