// Host-mode deployments: validation, the Kubernetes manifest DomeOS produced,
// the admin API (auth, CRUD, scale, runtime seam) and the CLI.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { mintDeploymentToken } from "../../src/server/auth/pod-token.js";
import { deployCli } from "../../src/server/deploy/cli.js";
import { toManifest, toPodSpec } from "../../src/server/deploy/manifest.js";
import { SPEC_ANNOTATION } from "../../src/server/deploy/manifest-rollout.js";
import {
  type Deployment,
  DeploymentError,
  parseDeployment,
} from "../../src/server/deploy/model.js";
import type { DeployContext, PodRuntime } from "../../src/server/deploy/runtime.js";
import type { RunningServer } from "../../src/server/server.js";
import { freePort } from "../support/ports.js";
import {
  ADMIN,
  bearer,
  makeStore,
  request,
  runDeployCli,
  SECRET,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: the assertions walk arbitrary manifest JSON
type Json = any;

const web = {
  name: "web",
  image: "registry.example/web:1",
  replicas: 3,
  ports: 2,
  templates: ["/app/nginx.tmpl:/etc/nginx/nginx.conf", "/app/app.tmpl:/app/app.conf"],
  env: { JAVA_OPTS: "-Xmx1g" },
};

describe("deployment validation", () => {
  test("defaults", () => {
    const d = parseDeployment({ name: "a", image: "x" });
    assert.deepEqual(
      { ...d },
      {
        name: "a",
        namespace: "default",
        cluster: "default",
        image: "x",
        replicas: 1,
        networkMode: "HOST",
        ports: 0,
        templates: [],
        accessType: "DIY",
        env: {},
      },
    );
  });

  test("every problem is named at once", () => {
    let err: unknown;
    try {
      parseDeployment({
        name: "Bad_Name",
        replicas: -1,
        networkMode: "BRIDGE",
        ports: 2.5,
        templates: ["a:b:c", ""],
        accessType: "NODEPORT",
        env: { NEED_PORTS: "9", "1X": "y", OK: 3 },
        colour: "blue",
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof DeploymentError);
    const m = err.message;
    for (const re of [
      /unknown field "colour"/,
      /name "Bad_Name" is not a DNS-1123 label/,
      /replicas -1 must be an integer from 0 to 1000/,
      /networkMode "BRIDGE" must be one of HOST, DEFAULT/,
      /ports 2.5 must be an integer/,
      /templates\[0\] "a:b:c"/,
      /templates\[1\] ""/,
      /accessType "NODEPORT" must be one of DIY, K8S_SERVICE/,
      /env NEED_PORTS is set by the server/,
      /env name "1X"/,
      /env OK must be a string/,
      /give an image/,
    ]) {
      assert.match(m, re);
    }
  });

  test("ports need HOST mode", () => {
    assert.throws(
      () => parseDeployment({ name: "a", image: "x", networkMode: "DEFAULT", ports: 1 }),
      /needs networkMode HOST/,
    );
  });
});

describe("manifest", () => {
  const d: Deployment = parseDeployment({ ...web, namespace: "shop", cluster: "prod" });
  const [secret, dep] = toManifest(d, { serverAddr: "http://domeos:8080", secret: SECRET }) as [
    Json,
    Json,
  ];

  test("Deployment shaped as DomeOS did", () => {
    assert.equal(dep.apiVersion, "apps/v1");
    assert.equal(dep.kind, "Deployment");
    assert.deepEqual(dep.metadata, {
      name: "web",
      namespace: "shop",
      labels: { deployName: "web" },
      annotations: { deployName: "web", accessType: "DIY" },
    });
    assert.equal(dep.spec.replicas, 3);
    assert.deepEqual(dep.spec.selector, { matchLabels: { deployName: "web" } });
    // the revision's spec rides on the template (Kubernetes rollouts: manifest-rollout.ts)
    const { [SPEC_ANNOTATION]: revisionSpec, ...templateAnnotations } =
      dep.spec.template.metadata.annotations;
    assert.deepEqual(
      { ...dep.spec.template.metadata, annotations: templateAnnotations },
      { labels: { deployName: "web" }, annotations: { deployName: "web", accessType: "DIY" } },
    );
    assert.equal(JSON.parse(revisionSpec).image, web.image);
    const spec = dep.spec.template.spec;
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.dnsPolicy, "ClusterFirstWithHostNet");
    assert.equal(spec.containers.length, 1);
    assert.equal(spec.containers[0].image, "registry.example/web:1");
    assert.deepEqual(spec.containers[0].env, [
      { name: "NETWORK_MODE", value: "HOST" },
      { name: "NEED_PORTS", value: "2" },
      { name: "DOMEOS_SERVER_ADDR", value: "http://domeos:8080" },
      { name: "CLUSTER_NAME", value: "prod" },
      { name: "MY_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "MY_POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "MY_POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
      { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
      { name: "HOST_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
      { name: "DOMEIZE_STATE_DIR", value: "/var/lib/domeize" },
      {
        name: "DOMEIZE_TEMPLATES",
        value: "/app/nginx.tmpl:/etc/nginx/nginx.conf,/app/app.tmpl:/app/app.conf",
      },
      {
        name: "DOMEOS_AGENT_TOKEN",
        valueFrom: { secretKeyRef: { name: "web-domeos-agent", key: "DOMEOS_AGENT_TOKEN" } },
      },
      { name: "JAVA_OPTS", value: "-Xmx1g" },
    ]);
  });

  test("the Secret carries the deployment token", () => {
    assert.equal(secret.kind, "Secret");
    assert.equal(secret.metadata.name, "web-domeos-agent");
    assert.equal(secret.metadata.namespace, "shop");
    assert.equal(
      secret.stringData.DOMEOS_AGENT_TOKEN,
      mintDeploymentToken(SECRET, "prod", "shop", "web"),
    );
  });

  // domeize defaults to 20000-20999 and rejects ledger ports outside its range.
  test("a non-default port range reaches domeize as AVAILABLE_PORT_START/END", () => {
    const envOf = (portRange?: { min: number; max: number }) => {
      const [, deployment] = toManifest(d, { serverAddr: "http://s", secret: SECRET, portRange });
      return (deployment as Json).spec.template.spec.containers[0].env as {
        name: string;
        value?: string;
      }[];
    };
    const names = (env: { name: string }[]) => env.map((e) => e.name);
    const custom = envOf({ min: 31000, max: 31499 });
    assert.deepEqual(names(custom).slice(0, 4), [
      "NETWORK_MODE",
      "NEED_PORTS",
      "AVAILABLE_PORT_START",
      "AVAILABLE_PORT_END",
    ]);
    assert.deepEqual(custom.slice(2, 4), [
      { name: "AVAILABLE_PORT_START", value: "31000" },
      { name: "AVAILABLE_PORT_END", value: "31499" },
    ]);
    // The default range or none: the environment DomeOS produced, unchanged.
    assert.deepEqual(envOf({ min: 20000, max: 20999 }), envOf(undefined));
    assert.ok(!names(envOf(undefined)).includes("AVAILABLE_PORT_START"));
    // Only the start differs: both bounds are still given.
    const shifted = envOf({ min: 20100, max: 20999 });
    assert.deepEqual(
      shifted.filter((e) => e.name.startsWith("AVAILABLE_PORT_")),
      [
        { name: "AVAILABLE_PORT_START", value: "20100" },
        { name: "AVAILABLE_PORT_END", value: "20999" },
      ],
    );
  });

  test("DEFAULT mode: no hostNetwork, no NEED_PORTS; no templates: no DOMEIZE_TEMPLATES", () => {
    const s = toPodSpec(parseDeployment({ name: "b", image: "x", networkMode: "DEFAULT" }), {
      serverAddr: "http://s",
      token: { value: "t" },
    }) as Json;
    assert.equal(s.hostNetwork, undefined);
    const names = s.containers[0].env.map((e: { name: string }) => e.name);
    assert.deepEqual(names, [
      "NETWORK_MODE",
      "DOMEOS_SERVER_ADDR",
      "CLUSTER_NAME",
      "MY_POD_NAME",
      "MY_POD_NAMESPACE",
      "MY_POD_UID",
      "NODE_NAME",
      "HOST_IP",
      "DOMEOS_AGENT_TOKEN",
    ]);
    assert.deepEqual(s.containers[0].env[0], { name: "NETWORK_MODE", value: "DEFAULT" });
  });
});

describe("the server's port range reaches the pods (manifest and runtime)", () => {
  let fx: StoreFixture;
  let srv: RunningServer;
  const contexts: (DeployContext | undefined)[] = [];
  const runtime: PodRuntime = {
    name: "recording",
    ensure: async (_d, ctx) => {
      contexts.push(ctx);
    },
    remove: async () => {},
  };
  before(async () => {
    fx = await makeStore("embedded");
    srv = await startTestServer(fx.store, { runtime, portRange: { min: 32000, max: 32099 } });
  });
  after(async () => {
    await srv.close();
    await fx.destroy();
  });

  test("AVAILABLE_PORT_START/END in the manifest and the runtime's context", async () => {
    const api = (method: string, path: string, body?: unknown) =>
      request(method, `${srv.url}${path}`, body, bearer(ADMIN));
    assert.equal((await api("POST", "/api/deployments", web)).status, 201);
    assert.deepEqual(contexts[0]?.portRange, { min: 32000, max: 32099 });
    const m = await api("GET", "/api/deployments/default/web/manifest?format=json");
    assert.equal(m.status, 200, m.text);
    const env = (m.body.result as Json)[1].spec.template.spec.containers[0].env;
    assert.deepEqual(
      env.filter((e: { name: string }) => e.name.startsWith("AVAILABLE_PORT_")),
      [
        { name: "AVAILABLE_PORT_START", value: "32000" },
        { name: "AVAILABLE_PORT_END", value: "32099" },
      ],
    );
  });
});

describe("admin API and CLI", () => {
  let fx: StoreFixture;
  let srv: RunningServer;
  const calls: string[] = [];
  const runtime: PodRuntime = {
    name: "recording",
    ensure: async (d, ctx) => {
      calls.push(`ensure ${d.namespace}/${d.name} x${d.replicas} ${ctx?.serverAddr}`);
    },
    remove: async (ns, name) => {
      calls.push(`remove ${ns}/${name}`);
    },
  };
  const api = (method: string, path: string, body?: unknown, token = ADMIN) =>
    request(method, `${srv.url}${path}`, body, bearer(token));
  before(async () => {
    fx = await makeStore("embedded");
    srv = await startTestServer(fx.store, { runtime, publicUrl: "http://domeos.example:8080" });
  });
  after(async () => {
    await srv.close();
    await fx.destroy();
  });

  test("admin token required", async () => {
    assert.equal((await request("GET", `${srv.url}/api/deployments`)).status, 401);
    const wrong = await api("GET", "/api/deployments", undefined, "nope");
    assert.equal(wrong.status, 403);
  });

  test("create, get, list, scale, manifest, delete; the runtime follows", async () => {
    const c = await api("POST", "/api/deployments", web);
    assert.equal(c.status, 201, c.text);
    assert.equal((c.body.result as Deployment).replicas, 3);
    assert.equal((await api("POST", "/api/deployments", web)).status, 409);
    const g = await api("GET", "/api/deployments/default/web");
    assert.equal((g.body.result as Deployment).image, web.image);
    const l = await api("GET", "/api/deployments");
    assert.deepEqual(
      (l.body.result as Deployment[]).map((d) => d.name),
      ["web"],
    );
    const s = await api("PATCH", "/api/deployments/default/web", { replicas: 5 });
    assert.equal((s.body.result as Deployment).replicas, 5);
    const bad = await api("PATCH", "/api/deployments/default/web", { imagee: "other" });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.resultMsg), /unknown field "imagee"/);
    const m = await api("GET", "/api/deployments/default/web/manifest");
    assert.equal(m.status, 200);
    const docs = parseAllDocuments(m.text).map((d) => d.toJSON());
    assert.deepEqual(
      docs.map((d) => d.kind),
      ["Secret", "Deployment"],
    );
    assert.equal(docs[1].spec.replicas, 5);
    assert.ok(
      docs[1].spec.template.spec.containers[0].env.some(
        (e: { name: string; value?: string }) =>
          e.name === "DOMEOS_SERVER_ADDR" && e.value === "http://domeos.example:8080",
      ),
    );
    const d = await api("DELETE", "/api/deployments/default/web");
    assert.equal(d.status, 200);
    assert.equal((await api("GET", "/api/deployments/default/web")).status, 404);
    assert.deepEqual(calls, [
      "ensure default/web x3 http://domeos.example:8080",
      "ensure default/web x5 http://domeos.example:8080",
      "remove default/web",
    ]);
  });

  test("invalid deployment: 400 naming the fields, nothing stored", async () => {
    const r = await api("POST", "/api/deployments", { name: "x", replicas: "two" });
    assert.equal(r.status, 400);
    assert.match(String(r.body.resultMsg), /replicas "two" must be an integer/);
    assert.equal((await fx.store.list("/domeos/deployments/")).kvs.length, 0);
  });

  // In-process for speed (a node start costs seconds on a loaded CI box);
  // the executable itself is exercised by the --help case below.
  const cli = (args: string[]) => runDeployCli(args, srv.url, ADMIN);
  const binary = (args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      const p = spawn("bin/domeos-server", args);
      let out = "";
      p.stdout.on("data", (d) => {
        out += d;
      });
      p.on("close", (code) => resolve({ code: code ?? -1, out }));
    });

  test("CLI: create, scale, manifest, list, delete; --help teaches", async () => {
    const c = await cli([
      "create",
      "api",
      "--image",
      "reg/api:2",
      "--ports",
      "2",
      "--template",
      "/a.tmpl:/a.conf",
      "--env",
      "K=V",
      "-n",
      "shop",
      "-o",
      "json",
    ]);
    assert.equal(c.code, 0, c.err);
    assert.equal(JSON.parse(c.out).ports, 2);
    const s = await cli(["scale", "api", "4", "-n", "shop"]);
    assert.equal(s.code, 0, s.err);
    assert.equal(s.out, "deployment shop/api scaled to 4\n");
    const m = await cli(["manifest", "api", "-n", "shop"]);
    assert.equal(m.code, 0, m.err);
    assert.match(m.out, /hostNetwork: true/);
    const deployment = parseAllDocuments(m.out)[1]!.toJSON();
    assert.equal(deployment.spec.replicas, 4);
    const l = await cli(["list", "-n", "shop", "-o", "json"]);
    assert.deepEqual(
      JSON.parse(l.out).map((d: Deployment) => d.name),
      ["api"],
    );
    // people get a table: no pods run under this test's runtime, so 0 of 4 ready
    const t = await cli(["list", "-n", "shop"]);
    assert.equal(t.code, 0, t.err);
    const [head, row] = t.out.trimEnd().split("\n");
    assert.match(head!, /^NAMESPACE\s+NAME\s+READY\s+RESTARTS\s+PORTS\s+NETWORK\s+AGE$/);
    assert.match(row!, /^shop\s+api\s+0\/4\s+0\s+2\s+HOST\s+\d+s$/);
    const y = await cli(["get", "api", "-n", "shop"]);
    assert.match(y.out, /^name: api$/m);
    const bad = await cli(["create", "Api", "--image", "x"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /HTTP 400: invalid deployment: name "Api"/);
    assert.equal((await cli(["delete", "api", "-n", "shop"])).code, 0);
    const h = await binary(["deploy", "--help"]);
    assert.equal(h.code, 0);
    assert.match(h.out, /deploy create NAME --command CMD/);
    const sh = await binary(["--help"]);
    assert.equal(sh.code, 0);
    assert.match(sh.out, /--allow-unauthenticated-agents/);
    const u = await cli(["frobnicate"]);
    assert.equal(u.code, 2);
    assert.match(u.err, /unknown command "frobnicate"/);
  });

  test("CLI: bad numbers and unreachable servers get a clean reason", async () => {
    const neg = await cli(["scale", "api", "-3"]);
    assert.equal(neg.code, 2);
    assert.match(neg.err, /"-3": numbers must not be negative/);
    const frac = await cli(["scale", "api", "1.5"]);
    assert.equal(frac.code, 2);
    assert.match(frac.err, /REPLICAS must be a non-negative integer, got "1.5"/);
    const badOut = await cli(["list", "-o", "xml"]);
    assert.equal(badOut.code, 2);
    assert.match(badOut.err, /-o "xml" must be json, yaml or table/);
    const port = await freePort();
    let err = "";
    const code = await deployCli(["list"], {
      out: () => {},
      err: (t) => {
        err += t;
      },
      env: { DOMEOS_SERVER: `http://127.0.0.1:${port}`, DOMEOS_ADMIN_TOKEN: ADMIN },
    });
    assert.equal(code, 1);
    assert.match(
      err,
      /cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused .*\[ECONNREFUSED\]/,
    );
  });
});
