// Kubernetes manifests: every generated object validated offline against the
// Kubernetes OpenAPI schema (kubernetes-models), names cross-checked within
// each set (a mount names a volume, an env var a Secret key that exists, a
// Service selects pods, a binding names its role), and what a multi-host
// cluster needs present. No real cluster here: see docs/kubernetes.md.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseAllDocuments, stringify as toYaml } from "yaml";
import { MapView } from "../../src/confd/backends/backend.js";
import { Renderer } from "../../src/confd/render/renderer.js";
import { KeySpace } from "../../src/confd/template/key-space.js";
import { loadConfig } from "../../src/server/config/load.js";
import { toManifest } from "../../src/server/deploy/manifest.js";
import { lbNginxConf, lbTemplate } from "../../src/server/deploy/manifest-lb.js";
import {
  defaultSystemOptions,
  LB_PORT,
  systemManifests,
} from "../../src/server/deploy/manifest-system.js";
import { parseDeployment } from "../../src/server/deploy/model.js";
import { validateK8sObject } from "../support/k8s-schema.js";
import { NGINX_BIN } from "../support/nginx.js";
import { ADMIN, bearer, makeStore, request, startTestServer } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: manifests are walked as plain JSON
type Json = any;
const ROOT = join(import.meta.dirname, "../../..");
const tmp = mkdtempSync(join(tmpdir(), "manifests-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const DEPLOYMENTS = {
  full: {
    name: "web",
    namespace: "shop",
    image: "registry.example/web:1",
    command: ["/app/server", "--port", "$(AUTO_PORT0)"],
    replicas: 3,
    ports: 2,
    templates: ["/app/nginx.tmpl:/etc/nginx/nginx.conf"],
    env: { JAVA_OPTS: "-Xmx1g" },
    readinessProbe: { httpGet: { path: "/ready", port: "AUTO_PORT1" }, periodSeconds: 0.5 },
    livenessProbe: { tcpSocket: { port: 0 }, initialDelaySeconds: 5, failureThreshold: 6 },
  },
  imageEntrypoint: { name: "legacy", image: "registry.example/legacy:1", ports: 1 },
  defaultMode: { name: "plain", image: "nginx:1.25", networkMode: "DEFAULT" },
};

function appSets(): [string, Json[]][] {
  const out: [string, Json[]][] = [];
  for (const [what, input] of Object.entries(DEPLOYMENTS)) {
    const d = parseDeployment(input);
    for (const domeizeImage of [undefined, ""]) {
      out.push([
        `${what}${domeizeImage === "" ? " (no injection)" : ""}`,
        toManifest(d, {
          serverAddr: "http://domeos-server.domeos-system.svc:8080",
          secret: "s".repeat(32),
          portRange: { min: 31000, max: 31999 },
          domeizeImage,
        }),
      ]);
    }
  }
  return out;
}

/** Names within one set refer to objects and keys that exist in it. */
function crossCheck(objects: Json[]): void {
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const secrets = new Map(
    byKind("Secret").map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s.stringData]),
  );
  const accounts = new Set(
    byKind("ServiceAccount").map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
  );
  const configMaps = new Map(
    byKind("ConfigMap").map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c.data]),
  );
  for (const dep of byKind("Deployment")) {
    const ns = dep.metadata.namespace;
    const tpl = dep.spec.template;
    for (const [k, v] of Object.entries(dep.spec.selector.matchLabels))
      assert.equal(tpl.metadata.labels[k], v, `${dep.metadata.name}: selector matches its pods`);
    const spec = tpl.spec;
    if (spec.serviceAccountName)
      assert.ok(accounts.has(`${ns}/${spec.serviceAccountName}`), spec.serviceAccountName);
    const volumes = new Map((spec.volumes ?? []).map((v: Json) => [v.name, v]));
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      for (const m of c.volumeMounts ?? [])
        assert.ok(volumes.has(m.name), `${dep.metadata.name}/${c.name}: volume ${m.name}`);
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref || ref.optional) continue;
        const data = secrets.get(`${ns}/${ref.name}`);
        assert.ok(
          data && ref.key in data,
          `${c.name}: env ${e.name} -> secret ${ref.name}/${ref.key}`,
        );
      }
    }
    for (const v of volumes.values() as Iterable<Json>) {
      if (!v.configMap) continue;
      const data = configMaps.get(`${ns}/${v.configMap.name}`);
      assert.ok(data, `configMap ${v.configMap.name}`);
      for (const item of v.configMap.items ?? []) assert.ok(item.key in data, `key ${item.key}`);
    }
  }
  for (const svc of byKind("Service")) {
    const sel = svc.spec.selector;
    assert.ok(
      byKind("Deployment").some(
        (d) =>
          d.metadata.namespace === svc.metadata.namespace &&
          Object.entries(sel).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      ),
      `service ${svc.metadata.name} selects a deployment's pods`,
    );
  }
  for (const b of [...byKind("RoleBinding"), ...byKind("ClusterRoleBinding")]) {
    const roles = byKind(b.roleRef.kind).filter(
      (r) =>
        r.metadata.name === b.roleRef.name &&
        (b.kind === "ClusterRoleBinding" || r.metadata.namespace === b.metadata.namespace),
    );
    assert.equal(roles.length, 1, `${b.kind} ${b.metadata.name} -> ${b.roleRef.name}`);
    for (const s of b.subjects)
      assert.ok(accounts.has(`${s.namespace}/${s.name}`), `subject ${s.name}`);
  }
}

describe("schema: every generated object validates against the Kubernetes OpenAPI schema", () => {
  test("app manifests (Secret, Deployment) of every deployment shape", () => {
    const kinds = new Set<string>();
    for (const [what, objects] of appSets()) {
      for (const o of objects) {
        kinds.add(o.kind);
        assert.doesNotThrow(() => validateK8sObject(o), what);
      }
      crossCheck(objects);
    }
    assert.deepEqual([...kinds].sort(), ["Deployment", "Secret"]);
  });

  test("the system (`domeos-server manifests --all`), from the CLI's YAML and JSON", () => {
    const cli = join(ROOT, "bin/domeos-server");
    const args = ["manifests", "--all", "--serve", "shop,web", "--route", "shop/web"];
    const yaml = execFileSync(cli, args, { encoding: "utf8" });
    const docs = parseAllDocuments(yaml).map((d) => d.toJS());
    const json = JSON.parse(execFileSync(cli, [...args, "--format", "json"], { encoding: "utf8" }));
    assert.equal(json.kind, "List");
    assert.deepEqual(
      json.items.map((o: Json) => o.kind),
      docs.map((o) => o.kind),
    );
    const kinds = new Set(docs.map((o) => o.kind));
    assert.deepEqual([...kinds].sort(), [
      "ClusterRole",
      "ClusterRoleBinding",
      "ConfigMap",
      "Deployment",
      "Namespace",
      "Role",
      "RoleBinding",
      "Secret",
      "Service",
      "ServiceAccount",
    ]);
    for (const o of docs) validateK8sObject(o);
    crossCheck(docs);
    // Fresh secrets on every run: nothing to copy from the docs.
    const again = JSON.parse(
      execFileSync(cli, [...args, "--format", "json"], { encoding: "utf8" }),
    );
    const secretOf = (l: Json) =>
      l.items.find((o: Json) => o.metadata.name === "domeos-server" && o.kind === "Secret");
    assert.notEqual(
      secretOf(again).stringData["agent-secret"],
      secretOf(json).stringData["agent-secret"],
    );
  });

  test("the validator catches what a typo would produce", () => {
    const [, dep] = toManifest(parseDeployment(DEPLOYMENTS.full), {
      serverAddr: "http://s",
      secret: "x",
    }) as Json[];
    const broken = structuredClone(dep);
    broken.spec.template.spec.hostNetwork = "true";
    broken.spec.template.spec.containers[0].readinessProbe.periodSeconds = "5";
    assert.throws(() => validateK8sObject(broken), /hostNetwork must be boolean/);
    assert.throws(() => validateK8sObject(broken), /periodSeconds must be integer/);
    const noSelector = structuredClone(dep);
    delete noSelector.spec.selector;
    assert.throws(() => validateK8sObject(noSelector), /must have required property selector/);
  });

  test("bad manifests options: exit 2 naming the option", () => {
    const cli = join(ROOT, "bin/domeos-server");
    for (const [args, re] of [
      [[], /give --all/],
      [["--all", "--route", "web"], /--route "web" must be NAMESPACE\/DEPLOYMENT/],
      [["--all", "--serve", "Bad_NS"], /--serve "Bad_NS" is not a DNS-1123 label/],
      [["--all", "--server-replicas", "0"], /--server-replicas "0" must be 1..100/],
      [["--all", "--format", "xml"], /--format "xml" must be yaml or json/],
      [["--all", "--bogus"], /Unknown option '--bogus'/],
    ] as const) {
      const r = spawnSync(cli, ["manifests", ...args], { encoding: "utf8" });
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, "");
    }
  });
});

describe("app Deployment: what a multi-host cluster needs", () => {
  const [, dep] = toManifest(parseDeployment(DEPLOYMENTS.full), {
    serverAddr: "http://domeos-server.domeos-system.svc:8080",
    secret: "s".repeat(32),
  }) as Json[];
  const spec = dep.spec.template.spec;
  const app = spec.containers[0];

  test("host network, cluster DNS, identity from the downward API, token from the Secret", () => {
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.dnsPolicy, "ClusterFirstWithHostNet");
    const env = Object.fromEntries(app.env.map((e: Json) => [e.name, e.valueFrom ?? e.value]));
    assert.deepEqual(env.HOST_IP, { fieldRef: { fieldPath: "status.hostIP" } });
    assert.deepEqual(env.NODE_NAME, { fieldRef: { fieldPath: "spec.nodeName" } });
    assert.deepEqual(env.MY_POD_NAME, { fieldRef: { fieldPath: "metadata.name" } });
    assert.deepEqual(env.MY_POD_NAMESPACE, { fieldRef: { fieldPath: "metadata.namespace" } });
    assert.deepEqual(env.MY_POD_UID, { fieldRef: { fieldPath: "metadata.uid" } });
    assert.deepEqual(env.DOMEOS_AGENT_TOKEN, {
      secretKeyRef: { name: "web-domeos-agent", key: "DOMEOS_AGENT_TOKEN" },
    });
    assert.equal(env.DOMEIZE_STATE_DIR, "/var/lib/domeize");
  });

  test("the state dir is a hostPath shared by every pod of the node", () => {
    const vol = spec.volumes.find((v: Json) => v.hostPath);
    assert.deepEqual(vol.hostPath, { path: "/var/lib/domeize", type: "DirectoryOrCreate" });
    assert.ok(
      app.volumeMounts.some((m: Json) => m.name === vol.name && m.mountPath === "/var/lib/domeize"),
    );
  });

  test("domeize injected: init container copies it, the command is prefixed, the app preserved", () => {
    assert.deepEqual(spec.initContainers[0].command, [
      "/domeize",
      "probe",
      "install",
      "/domeos/bin/domeize",
    ]);
    assert.equal(spec.initContainers[0].image, "domeos/domeize:0.1.0");
    assert.deepEqual(app.command, [
      "/domeos/bin/domeize",
      "/app/server",
      "--port",
      "$(AUTO_PORT0)",
    ]);
    assert.equal(app.image, "registry.example/web:1");
    const bin = spec.volumes.find((v: Json) => v.emptyDir);
    assert.ok(spec.initContainers[0].volumeMounts.some((m: Json) => m.name === bin.name));
    assert.ok(app.volumeMounts.some((m: Json) => m.name === bin.name && m.readOnly));
    // No command: the image's entrypoint runs as is (it starts domeize itself).
    const [, legacy] = toManifest(parseDeployment(DEPLOYMENTS.imageEntrypoint), {
      serverAddr: "http://s",
      secret: "x",
    }) as Json[];
    assert.equal(legacy.spec.template.spec.containers[0].command, undefined);
    const legacyApp = legacy.spec.template.spec.containers[0];
    // The deployment's default readiness (AUTO_PORT0 accepts TCP); no liveness: restart on exit only.
    assert.deepEqual(legacyApp.readinessProbe.exec.command, [
      "/domeos/bin/domeize",
      "probe",
      "ready",
      "tcp",
      "0",
    ]);
    assert.equal(legacyApp.livenessProbe, undefined);
    assert.equal(legacyApp.startupProbe, undefined);
  });

  test("the deployment's probes run by domeize on the dynamic ports; preStop drains within the grace period", () => {
    const ready = ["/domeos/bin/domeize", "probe", "ready", "http", "1", "/ready"];
    assert.deepEqual(app.readinessProbe, {
      exec: { command: ready },
      periodSeconds: 1, // 0.5 s rounded up: whole seconds on Kubernetes
      timeoutSeconds: 1,
      failureThreshold: 3,
      successThreshold: 1,
    });
    assert.deepEqual(app.startupProbe.exec.command, ready);
    assert.deepEqual(app.livenessProbe, {
      exec: { command: ["/domeos/bin/domeize", "probe", "live", "tcp", "0"] },
      periodSeconds: 10,
      timeoutSeconds: 1,
      failureThreshold: 6,
      successThreshold: 1,
      initialDelaySeconds: 5,
    });
    assert.deepEqual(app.lifecycle.preStop.exec.command, [
      "/domeos/bin/domeize",
      "probe",
      "drain",
      "15s",
    ]);
    assert.ok(spec.terminationGracePeriodSeconds > 15, "the drain leaves time to stop the app");
  });
});

describe("system RBAC: least rights", () => {
  const objects: Json[] = systemManifests(
    defaultSystemOptions({ servedNamespaces: ["shop", "web"] }),
  );
  const find = (kind: string, name: string, ns?: string) =>
    objects.filter(
      (o) => o.kind === kind && o.metadata.name === name && (!ns || o.metadata.namespace === ns),
    );

  test("domeos-server: pods read cluster-wide; writes only in the served namespaces", () => {
    assert.deepEqual(find("ClusterRole", "domeos-server-pods-read")[0].rules, [
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    ]);
    const roles = objects.filter((o) => o.kind === "Role" && o.metadata.name === "domeos-server");
    assert.deepEqual(roles.map((r) => r.metadata.namespace).sort(), ["shop", "web"]);
    assert.deepEqual(roles[0].rules, [
      { apiGroups: [""], resources: ["pods"], verbs: ["patch"] },
      {
        apiGroups: ["apps"],
        resources: ["deployments"],
        verbs: ["get", "create", "patch", "delete"],
      },
      { apiGroups: [""], resources: ["secrets"], verbs: ["get", "create", "patch", "delete"] },
      { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get", "list"] },
    ]);
    const all = objects
      .filter((o) => o.kind === "Role" || o.kind === "ClusterRole")
      .flatMap((r) => r.rules);
    assert.ok(all.every((r: Json) => !r.verbs.includes("*") && !r.resources.includes("*")));
  });

  test("domeos-confd only reads the pods of the namespace it routes", () => {
    const [role] = find("Role", "domeos-confd-pods-read");
    assert.equal(role.metadata.namespace, "default", "the --route namespace");
    assert.deepEqual(role.rules, [
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    ]);
    const [binding] = find("RoleBinding", "domeos-confd-pods-read", "default");
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "domeos-confd", namespace: "domeos-system" },
    ]);
    const clusterWide = objects.filter((o) => o.kind.startsWith("Cluster"));
    assert.ok(clusterWide.every((o) => !o.metadata.name.startsWith("domeos-confd")));
  });

  test("two server replicas on one store, spread over nodes, Secrets by reference", () => {
    const [server] = find("Deployment", "domeos-server");
    assert.equal(server.spec.replicas, 2);
    const env = Object.fromEntries(
      server.spec.template.spec.containers[0].env.map((e: Json) => [
        e.name,
        e.value ?? e.valueFrom,
      ]),
    );
    assert.equal(env.DOMEOS_CLUSTERS, "default=kubernetes:?others=$(DOMEOS_ETCD_URL)");
    assert.equal(env.DOMEOS_RUNTIME, "kubernetes");
    assert.deepEqual(env.DOMEOS_SECRET, {
      secretKeyRef: { name: "domeos-server", key: "agent-secret" },
    });
    assert.ok(server.spec.template.spec.affinity.podAntiAffinity);
  });
});

describe("the load balancer's template", () => {
  const pod = (name: string, over: Json = {}) => ({
    metadata: { name, namespace: "shop", annotations: { deployName: "web", AUTO_PORT0: "20001" } },
    status: {
      podIP: `10.0.0.${name.length}`,
      conditions: [{ type: "Ready", status: "True" }],
    },
    ...over,
  });
  const pods: Record<string, Json> = {
    ready: pod("ready"),
    notready: {
      ...pod("notready"),
      status: { podIP: "10.0.0.99", conditions: [{ type: "Ready", status: "False" }] },
    },
    deleting: {
      ...pod("deleting"),
      metadata: { ...pod("deleting").metadata, deletionTimestamp: "2026-01-01T00:00:00Z" },
    },
    other: { ...pod("other"), metadata: { name: "other", annotations: { deployName: "api" } } },
    bare: { metadata: { name: "bare" }, status: {} },
    noport: { ...pod("noport"), metadata: { name: "noport", annotations: { deployName: "web" } } },
  };

  test("routes only Ready pods that are not being deleted; nginx -t accepts the result", () => {
    const file = join(tmp, "upstream.tmpl");
    writeFileSync(file, lbTemplate({ namespace: "shop", deployName: "web" }, LB_PORT));
    const ks = new KeySpace(["/registry/pods/shop"], "/");
    ks.rebuild(
      new MapView(
        new Map(
          Object.entries(pods).map(([k, v]) => [`/registry/pods/shop/${k}`, JSON.stringify(v)]),
        ),
      ),
    );
    const out = new Renderer(file, ks).render();
    const servers = out.split("\n").filter((l) => /^\s+server /.test(l));
    assert.deepEqual(
      servers.map((l) => l.trim()),
      ["server 127.0.0.1:1 down;", "server 10.0.0.5:20001;"],
    );
    const conf = join(tmp, "nginx.conf");
    const rendered = join(tmp, "upstream.conf");
    writeFileSync(rendered, out);
    writeFileSync(
      conf,
      lbNginxConf()
        .replace(/include \S+;/, `include ${rendered};`)
        .replace(/pid \S+;/, `pid ${tmp}/nginx.pid;`)
        .replaceAll("/tmp/nginx-", `${tmp}/nginx-`),
    );
    const r = spawnSync(NGINX_BIN, ["-t", "-q", "-p", tmp, "-e", "stderr", "-c", conf], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
  });
});

describe("examples/kubernetes: the rendered set is what the generators print", () => {
  // Public example secrets: examples/kubernetes/README.md says to render your own.
  const EXAMPLE_SECRET = "example-agent-secret-render-your-own-with-domeos-server-manifests";
  const EXAMPLE_ADMIN = "example-admin-token-render-your-own";
  const dir = join(ROOT, "examples/kubernetes");
  const yamlOf = (objects: Json[]) => objects.map((o) => toYaml(o)).join("---\n");
  const rendered = {
    "domeos-system.yaml": () =>
      yamlOf(
        systemManifests(
          defaultSystemOptions({ agentSecret: EXAMPLE_SECRET, adminToken: EXAMPLE_ADMIN }),
        ),
      ),
    "web.yaml": () =>
      yamlOf(
        toManifest(
          parseDeployment({
            name: "web",
            image: "busybox:1.36",
            command: [
              "sh",
              "-c",
              'mkdir -p /tmp/www && echo "hello from $MY_POD_NAME" > /tmp/www/index.html && exec httpd -f -p "$AUTO_PORT0" -h /tmp/www',
            ],
            replicas: 3,
            ports: 1,
          }),
          { serverAddr: "http://domeos-server.domeos-system.svc:8080", secret: EXAMPLE_SECRET },
        ),
      ),
  };

  for (const [file, render] of Object.entries(rendered)) {
    test(`${file} is up to date (UPDATE_EXAMPLES=1 rewrites it)`, () => {
      const header = `# Rendered by test/server/manifests.test.ts (UPDATE_EXAMPLES=1); see README.md.\n`;
      const want = header + render();
      if (process.env.UPDATE_EXAMPLES === "1") writeFileSync(join(dir, file), want);
      assert.equal(readFileSync(join(dir, file), "utf8"), want);
      for (const d of parseAllDocuments(want)) validateK8sObject(d.toJS());
    });
  }
});

describe("the domeize injection image is configurable", () => {
  test("--domeize-image / DOMEOS_DOMEIZE_IMAGE / domeizeImage; '' = none; bad values named", () => {
    assert.equal(
      loadConfig(["--domeize-image", "reg.example/domeize:2"], {}).domeizeImage,
      "reg.example/domeize:2",
    );
    assert.equal(
      loadConfig([], { DOMEOS_DOMEIZE_IMAGE: "" }).domeizeImage,
      "",
      "set but empty: none",
    );
    assert.equal(loadConfig([], {}).domeizeImage, undefined, "unset: the default");
    assert.throws(
      () => loadConfig(["--domeize-image", "bad image"], {}),
      /flag --domeize-image: "bad image" is not an image reference/,
    );
  });

  test("the server's manifests and the manifests CLI use it", async () => {
    const fx = await makeStore("embedded");
    const srv = await startTestServer(fx.store, { domeizeImage: "reg.example/domeize:2" });
    try {
      const create = await request(
        "POST",
        `${srv.url}/api/deployments`,
        { name: "inj", image: "app:1", ports: 1 },
        bearer(ADMIN),
      );
      assert.equal(create.status, 201, create.text);
      const m = await request(
        "GET",
        `${srv.url}/api/deployments/default/inj/manifest?format=json`,
        undefined,
        bearer(ADMIN),
      );
      const dep = (m.body.result as Json[]).find((o) => o.kind === "Deployment");
      assert.equal(dep.spec.template.spec.initContainers[0].image, "reg.example/domeize:2");
    } finally {
      await srv.close();
      await fx.destroy();
    }
    const cli = join(ROOT, "bin/domeos-server");
    const list = JSON.parse(
      execFileSync(cli, ["manifests", "--all", "--domeize-image", "", "--format", "json"], {
        encoding: "utf8",
      }),
    );
    const server = list.items.find(
      (o: Json) => o.kind === "Deployment" && o.metadata.name === "domeos-server",
    );
    const env = server.spec.template.spec.containers[0].env;
    assert.deepEqual(
      env.find((e: Json) => e.name === "DOMEOS_DOMEIZE_IMAGE"),
      { name: "DOMEOS_DOMEIZE_IMAGE", value: "" },
    );
  });
});
