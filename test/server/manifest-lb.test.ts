// The load balancer's generated config (the domeos-lb ConfigMap) run by the
// real domeos-confd against the FAKE apiserver (test/store/fake-apiserver.ts:
// no real cluster here), with its real staged check (nginx -t): only Ready
// pods that are not being deleted reach the upstream. And the drain: a real
// nginx started with the Deployment's own command (as uid 1000, like the
// pod, when the test runs as root) reloaded by the generated reload_cmd,
// which returns only once no old worker takes connections, so a pod that
// left the upstream gets no new request after confd's reload. Paths of the
// image (/etc/nginx/domeos-lb, /app, /run/nginx, /tmp) are moved into a temp
// dir; nothing else changes.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { IContainer } from "kubernetes-models/v1";
import { DRAIN_SECONDS } from "../../src/server/deploy/manifest-domeize.js";
import {
  LB_CONF_DIR,
  LB_PID_FILE,
  LB_RELOAD_WAIT_SECONDS,
  LB_SCRIPTS,
  type LbRoute,
  lbConfigFiles,
} from "../../src/server/deploy/manifest-lb.js";
import {
  defaultSystemOptions,
  LB_PORT,
  systemManifests,
} from "../../src/server/deploy/manifest-system.js";
import {
  acceptingWorkers,
  Backend,
  Confd,
  confdArgs,
  hupPending,
  runConfd,
  until,
} from "../confd/nginx-harness.js";
import { FakeApiServer } from "../store/fake-apiserver.js";
import { writeKubeconfig } from "../store/fake-cluster.js";
import { NGINX_BIN } from "../support/nginx.js";
import { freePort } from "../support/ports.js";

const ROOT = join(import.meta.dirname, "../../..");
const tmp = mkdtempSync(join(tmpdir(), "manifest-lb-"));
const api = new FakeApiServer();
before(() => api.start());
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

/** The image's paths moved under `dir`. */
const localizer = (dir: string, lbDir: string) => (s: string) =>
  s
    .replaceAll(LB_CONF_DIR, lbDir)
    .replaceAll(`${LB_SCRIPTS}/`, `${ROOT}/examples/confd/`)
    .replaceAll(`${LB_PID_FILE}`, `${dir}/nginx.pid`)
    .replaceAll("/tmp/nginx-", `${dir}/nginx-`);

/**
 * The generated nginx.conf, confd resource and template under `dir`, as the
 * ConfigMap and the init container lay them out. The staged check gets
 * `-p dir` (nginx -t as root would write its log under the package's prefix).
 */
function layOut(dir: string, route: LbRoute, port: number) {
  const lbDir = join(dir, "lb");
  const confd = join(dir, "confd");
  mkdirSync(lbDir, { recursive: true });
  mkdirSync(join(confd, "conf.d"), { recursive: true });
  mkdirSync(join(confd, "templates"));
  const local = localizer(dir, lbDir);
  const files = lbConfigFiles(route, port);
  writeFileSync(join(lbDir, "nginx.conf"), local(files["nginx.conf"]!));
  const resource = local(files["upstream.toml"]!).replace(
    /\{\{\.src\}\} -e stderr"/,
    `{{.src}} -e stderr -p ${dir}"`,
  );
  writeFileSync(join(confd, "conf.d/upstream.toml"), resource);
  writeFileSync(join(confd, "templates/upstream.tmpl"), files["upstream.tmpl"]!);
  return { lbDir, confd, local, resource };
}

/** bin/domeos-confd -onetime on `confd` against the FAKE apiserver, to its end. */
const confdOnce = (confd: string, kubeconfig: string, env: Record<string, string> = {}) =>
  runConfd(["-onetime", ...confdArgs(confd, "kubernetes", kubeconfig)], { NGINX_BIN, ...env });

test("domeos-confd renders the generated upstream from the cluster; nginx -t accepts it", async () => {
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
  const dir = join(tmp, "render");
  const { lbDir, confd, resource } = layOut(dir, { namespace: "shop", deployName: "web" }, LB_PORT);
  // no nginx runs in this test: the check is real, the reload is not
  writeFileSync(
    join(confd, "conf.d/upstream.toml"),
    resource.replace(/^reload_cmd = .*$/m, 'reload_cmd = "true"'),
  );
  const r = await confdOnce(confd, writeKubeconfig(api, join(dir, "kubeconfig")));
  assert.equal(r.code, 0, r.stderr);
  const out = readFileSync(join(lbDir, "upstream.conf"), "utf8");
  const servers = [...out.matchAll(/^\s+server ([^\s;]+)/gm)].map((m) => m[1]);
  assert.deepEqual(servers, ["127.0.0.1:1", "10.9.0.5:20010"], out);
  assert.match(out, new RegExp(`listen ${LB_PORT} default_server;`));
});

test("domeos-confd asks the apiserver only about the routed namespace (all its Role grants): list, watch, revision probes", {
  timeout: 120_000,
}, async () => {
  const dir = join(tmp, "scope");
  const { lbDir, confd, resource } = layOut(dir, { namespace: "shop", deployName: "web" }, LB_PORT);
  writeFileSync(
    join(confd, "conf.d/upstream.toml"),
    resource.replace(/^reload_cmd = .*$/m, 'reload_cmd = "true"'),
  );
  // a namespace whose name starts with the routed one: not read either
  api.upsertPod({ ...pod("cousin", true), metadata: { name: "cousin", namespace: "shop2" } });
  const kubeconfig = writeKubeconfig(api, join(dir, "kubeconfig"));
  const mark = api.requests.length;
  const sent = () => api.requests.slice(mark).map((r) => `${r.method} ${r.path}`);
  const c = new Confd(["-watch", ...confdArgs(confd, "kubernetes", kubeconfig)]);
  c.start();
  try {
    await until(() => existsSync(join(lbDir, "upstream.conf")), 60_000, "the first render");
    // the mirror's periodic revision probe (every 2 s) after its watch
    await until(
      () => {
        const s = sent();
        const w = s.findIndex((r) => r.includes("watch=true"));
        return w >= 0 && s.slice(w + 1).some((r) => r.includes("limit=1"));
      },
      60_000,
      "a watch and a revision probe",
    );
    const outside = sent().filter((r) => !r.startsWith("GET /api/v1/namespaces/shop/pods?"));
    assert.deepEqual(outside, [], "requests a Role in namespace shop does not allow");
    const servers = [
      ...readFileSync(join(lbDir, "upstream.conf"), "utf8").matchAll(/^\s+server ([^\s;]+)/gm),
    ];
    assert.deepEqual(
      servers.map((m) => m[1]),
      ["127.0.0.1:1", "10.9.0.5:20010"],
    );
  } finally {
    await c.stop();
  }
});

test("nginx.conf moves every temp path the nginx binary has into /tmp (uid 1000 cannot create the package's)", () => {
  const built = spawnSync(NGINX_BIN, ["-V"], { encoding: "utf8" }).stderr;
  const kinds = [...built.matchAll(/--http-([a-z-]+)-temp-path=/g)].map((m) => m[1]!);
  assert.ok(kinds.length >= 2, built);
  const conf = lbConfigFiles({ namespace: "shop", deployName: "web" }, LB_PORT)["nginx.conf"]!;
  for (const k of kinds) {
    const name = k.replaceAll("-", "_");
    assert.match(conf, new RegExp(`^\\s*${name}_temp_path /tmp/`, "m"), `${name}_temp_path`);
  }
});

/** One request on a fresh connection (no keep-alive): which backend answered. */
function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("no answer in 10 s")));
  });
}

const lbContainer = (name: string): IContainer => {
  const objects = systemManifests(defaultSystemOptions()) as {
    kind: string;
    metadata: { name: string };
    spec: { template: { spec: { containers: IContainer[] } } };
  }[];
  const lb = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "domeos-lb")!;
  return lb.spec.template.spec.containers.find((c) => c.name === name)!;
};

test("the generated load balancer drains as the pods' preStop promises: confd's reload returns once no old nginx worker takes connections; a deleted pod then gets no new request", {
  timeout: 180_000,
}, async () => {
  assert.ok(LB_RELOAD_WAIT_SECONDS < DRAIN_SECONDS, "the reload's bound fits in the drain");
  const confdEnv = Object.fromEntries(
    (lbContainer("domeos-confd").env ?? []).map((e) => [e.name, e.value ?? ""]),
  );
  assert.equal(confdEnv.RELOAD_WAIT_SECONDS, String(LB_RELOAD_WAIT_SECONDS));
  const [a, b] = [new Backend("pod-a"), new Backend("pod-b")];
  await a.start();
  await b.start();
  const route = { namespace: "edge", deployName: "web" };
  const at = (name: string, port: number, extra: Record<string, unknown> = {}) => ({
    ...pod(name, true, extra),
    metadata: {
      name,
      namespace: "edge",
      annotations: { deployName: "web", AUTO_PORT0: String(port) },
      ...extra,
    },
    status: {
      podIP: "127.0.0.1",
      hostIP: "127.0.0.1",
      conditions: [{ type: "Ready", status: "True" }],
    },
  });
  api.upsertPod(at("a", a.port));
  api.upsertPod(at("b", b.port));
  const dir = join(tmp, "drain");
  const port = await freePort();
  const { confd, local } = layOut(dir, route, port);
  const kubeconfig = writeKubeconfig(api, join(dir, "kubeconfig"));
  // nginx as the pod runs it: the container's command, uid 1000
  const command = (lbContainer("nginx").command ?? []).map(local);
  assert.equal(command[0], "nginx");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) for (const d of [tmp, dir, join(dir, "lb")]) chmodSync(d, 0o777);
  const argv = [NGINX_BIN, ...command.slice(1)];
  const nginx = asRoot
    ? spawn("setpriv", ["--reuid=1000", "--regid=1000", "--clear-groups", ...argv], {
        stdio: ["ignore", "ignore", "pipe"],
      })
    : spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let nginxErr = "";
  nginx.stderr!.on("data", (d: Buffer) => {
    nginxErr += d.toString();
  });
  const master = nginx.pid!;
  let stopped = false;
  try {
    // up before the first render, listening nowhere (the pod is not Ready yet)
    await until(
      () => {
        if (nginx.exitCode !== null) throw new Error(`nginx exited: ${nginxErr}`);
        return existsSync(join(dir, "nginx.pid")) && acceptingWorkers(master).length > 0;
      },
      30_000,
      "nginx's workers",
    );
    const first = await confdOnce(confd, kubeconfig, confdEnv);
    assert.equal(first.code, 0, first.stderr);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(await ask(port));
    assert.deepEqual([...seen].sort(), ["200 pod-a", "200 pod-b"]);

    // pod a is deleted: the apiserver sets its deletionTimestamp, its preStop drain starts
    api.upsertPod(at("a", a.port, { deletionTimestamp: new Date().toISOString() }));
    const before = acceptingWorkers(master);
    // a master slow to act on the reload (frozen): confd must not call the reload done
    process.kill(master, "SIGSTOP");
    stopped = true;
    const second = confdOnce(confd, kubeconfig, confdEnv);
    await until(() => hupPending(master), 60_000, "the reload's SIGHUP at the nginx master");
    const early = await Promise.race([
      second.then((r) => `confd exited with ${r.code}: ${r.stderr}`),
      new Promise<null>((r) => setTimeout(() => r(null), 500)),
    ]);
    assert.equal(early, null, "the reload returned while nginx's old workers still accepted");
    process.kill(master, "SIGCONT");
    stopped = false;
    const r2 = await second;
    assert.equal(r2.code, 0, r2.stderr);
    // the reload is done: no worker from before takes connections, pod a gets nothing new
    const now = acceptingWorkers(master);
    assert.ok(now.length > 0 && before.every((p) => !now.includes(p)), `${before} -> ${now}`);
    for (let i = 0; i < 8; i++) assert.equal(await ask(port), "200 pod-b");
  } finally {
    if (stopped) process.kill(master, "SIGCONT");
    const exited = new Promise<void>((r) =>
      nginx.exitCode !== null ? r() : nginx.once("exit", () => r()),
    );
    nginx.kill("SIGQUIT");
    const t = setTimeout(() => nginx.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
    await a.stop();
    await b.stop();
  }
});
