// `npm start`: the whole system on one machine. The standalone server on the
// embedded store, a host-mode deployment of 3 replicas of examples/demo-app
// (each renders its config from a template with AUTO_PORT0), domeos-confd
// rendering the seed's nginx upstream from the store, and nginx in front if
// it is installed. Prints what runs where; Ctrl-C stops everything.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { podReady } from "../server/deploy/pod-summary.js";
import { lockDataDir } from "../server/lock/data-dir-lock.js";
import { DemoConfd } from "./demo-confd.js";
import { DemoNginx, nginxInstalled, nginxLuaInstalled } from "./demo-nginx.js";
import { freeLocalPort } from "./free-port.js";
import { repoRoot } from "./repo-root.js";
import { type Standalone, startStandalone } from "./standalone-server.js";

const DEPLOYMENT = "img-host-test"; // the name the seed's upstream template selects
const REPLICAS = 3;

const HELP = `npm start [-- options]   (node dist/src/main/demo.js)

Runs domeos-server with the standalone runtime, a demo host-mode deployment
(${REPLICAS} replicas of examples/demo-app), domeos-confd and, if installed, nginx.

  --data-dir DIR   store and pods (default ./.data/demo; kept between runs, so
                   a second start brings the same deployment back)
  --listen H:P     console and admin API (default 127.0.0.1:8080, or a free port if taken)
  --host-ip IP     the host address pods report as hostIP/podIP (default 127.0.0.1)
  --admin-token T  the admin API's bearer token, so a bookmarked console URL keeps
                   working across restarts (default: $DOMEOS_ADMIN_TOKEN, else a new
                   random token at each start)
  --fresh          delete the data dir first
  --reload-mode    nginx reloads for every pod change even when its Lua module is
                   installed (default: dynamic endpoints, docs/nginx-dynamic.md)
  -h, --help       this help
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "data-dir": { type: "string" },
      listen: { type: "string" },
      fresh: { type: "boolean" },
      "reload-mode": { type: "boolean" },
      "host-ip": { type: "string" },
      "admin-token": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const dataDir = resolve(values["data-dir"] ?? join(".data", "demo"));
  // --fresh must not wipe the data dir of a running server: fails naming its pid
  if (values.fresh) lockDataDir(dataDir).release();
  if (values.fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const runDir = mkdtempSync(join(tmpdir(), "domeos-demo-"));
  const listen = values.listen ?? (await defaultListen());

  const withNginx = nginxInstalled();
  // dynamic endpoints when nginx has the Lua module: pod changes without reloads
  const dynamic =
    withNginx && !values["reload-mode"] && nginxLuaInstalled()
      ? { membersPort: await freeLocalPort() }
      : undefined;
  const nginx = withNginx
    ? new DemoNginx(join(runDir, "nginx"), await freeLocalPort(), dynamic)
    : null;
  const dest = nginx?.upstreamPath ?? join(runDir, "upstream.conf");
  const confd = new DemoConfd({
    confdir: join(runDir, "confd"),
    node: dataDir,
    dest,
    checkCmd: nginx?.checkCmd(),
    reloadCmd: nginx?.reloadCmd(),
    dynamic: nginx?.dynamic && { endpoint: nginx.membersUrl, secretFile: nginx.secretFile },
    metricsPort: await freeLocalPort(),
    logPath: join(runDir, "confd.log"),
  });

  const sa = await startStandalone({
    dataDir,
    listen,
    hostIP: values["host-ip"],
    adminToken: adminTokenOf(values["admin-token"] ?? process.env.DOMEOS_ADMIN_TOKEN),
    confd: [{ name: "nginx upstream", dest, healthUrl: confd.healthUrl }],
    info: nginx ? { nginx: `http://127.0.0.1:${nginx.port}/` } : {},
    logLevel: "warn",
  });
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(
      `\n${why}: stopping pods and the server, then domeos-confd and nginx...\n`,
    );
    // pods first, while confd and nginx still run: they take each pod out before it gets SIGTERM
    await sa.close().catch((e) => process.stderr.write(`close: ${(e as Error).message}\n`));
    await confd.stop().catch(() => {});
    await nginx?.stop().catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
    process.stdout.write("stopped.\n");
    process.exit(0);
  };
  // Ctrl-C reaches only this process (confd and nginx have their own process
  // groups, pods too): the pods drain through confd and nginx, which stop last
  process.on("SIGINT", () => void stop("Ctrl-C"));
  process.on("exit", () => {
    confd.kill();
    nginx?.kill();
  });
  process.on("SIGTERM", () => void stop("SIGTERM"));

  if (nginx) {
    nginx.configure();
    await nginx.start();
  }
  const desired = await ensureDemoDeployment(sa);
  confd.writeConfig();
  confd.start();

  // the banner at once; then one line per replica as it becomes reachable
  printBanner({ sa, dataDir, nginx, confd, dest });
  const replicas = await waitForReplicas(sa, desired, nginx?.port, confd);
  printRouted(nginx, replicas, desired);
}

/** An admin token from the command line or environment: non-empty, no spaces. */
function adminTokenOf(t: string | undefined): string | undefined {
  if (t === undefined) return undefined;
  if (!/^[\x21-\x7e]{8,256}$/.test(t)) {
    process.stderr.write(
      "demo: --admin-token / DOMEOS_ADMIN_TOKEN must be 8 to 256 printable characters without spaces\n",
    );
    process.exit(2);
  }
  return t;
}

async function defaultListen(): Promise<string> {
  const { portFree } = await import("./free-port.js");
  return (await portFree(8080)) ? "127.0.0.1:8080" : `127.0.0.1:${await freeLocalPort()}`;
}

/**
 * Create the demo deployment through the admin API, unless a previous run
 * left it; the replicas it should have (a previous run may have scaled it).
 */
async function ensureDemoDeployment(sa: Standalone): Promise<number> {
  const auth = { authorization: `Bearer ${sa.adminToken}`, "content-type": "application/json" };
  const existing = await fetch(`${sa.url}/api/deployments/default/${DEPLOYMENT}`, {
    headers: auth,
  });
  // brought back from the store by startStandalone
  if (existing.ok)
    return ((await existing.json()) as { result: { replicas: number } }).result.replicas;
  const app = join(repoRoot(), "examples", "demo-app");
  const res = await fetch(`${sa.url}/api/deployments`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({
      name: DEPLOYMENT,
      namespace: "default",
      command: ["node", join(app, "server.mjs"), "config.json"],
      replicas: REPLICAS,
      networkMode: "HOST",
      ports: 1,
      templates: [`${join(app, "config.json.tmpl")}:config.json`],
      accessType: "DIY",
      // routed only while it answers; a replica hung for 10 s is restarted
      readinessProbe: {
        httpGet: { path: "/", port: 0 },
        periodSeconds: 1,
        timeoutSeconds: 1,
        failureThreshold: 2,
      },
      livenessProbe: {
        httpGet: { path: "/", port: 0 },
        periodSeconds: 2,
        timeoutSeconds: 1,
        failureThreshold: 5,
      },
    }),
  });
  if (!res.ok) throw new Error(`creating the demo deployment: ${res.status} ${await res.text()}`);
  return REPLICAS;
}

const REPLICAS_WAIT_MS = 120_000;

/**
 * Wait until every desired replica answers (through nginx when it runs),
 * printing each one as it comes; a slow start is reported, never fatal.
 */
async function waitForReplicas(
  sa: Standalone,
  desired: number,
  nginxPort: number | undefined,
  confd: DemoConfd,
): Promise<string[]> {
  const deadline = Date.now() + REPLICAS_WAIT_MS;
  const seen = new Set<string>();
  const note = (replica: string) => {
    if (seen.has(replica)) return;
    seen.add(replica);
    process.stdout.write(`  ready ${seen.size}/${desired}: ${replica}\n`);
  };
  let warned = false;
  if (desired > 0) process.stdout.write(`Waiting for ${desired} replica(s) to be routed...\n`);
  while (seen.size < desired && Date.now() < deadline) {
    if (nginxPort) {
      try {
        const r = await fetch(`http://127.0.0.1:${nginxPort}/`, {
          signal: AbortSignal.timeout(1000),
        });
        if (r.ok) note(String(((await r.json()) as { replica: string }).replica));
      } catch {
        // not routed yet
      }
    } else {
      const pods = (await sa.store.list("/registry/pods/default/")).kvs.map((kv) =>
        JSON.parse(kv.value),
      );
      for (const p of pods)
        if (podReady(p) && p.status?.podIP && p.metadata?.annotations?.AUTO_PORT0)
          note(`${p.metadata.name} on ${p.status.podIP}:${p.metadata.annotations.AUTO_PORT0}`);
    }
    if (confd.problem && !warned) {
      warned = true;
      process.stderr.write(`warning: ${confd.problem}\n`);
    }
    if (seen.size < desired) await new Promise((r) => setTimeout(r, 200));
  }
  if (seen.size < desired)
    process.stderr.write(
      `warning: ${seen.size} of ${desired} replicas answered within ${REPLICAS_WAIT_MS / 1000} s; see the console\n`,
    );
  return [...seen].sort();
}

function printBanner(x: {
  sa: Standalone;
  dataDir: string;
  nginx: DemoNginx | null;
  confd: DemoConfd;
  dest: string;
}): void {
  const { sa, nginx, confd } = x;
  const lines = [
    "",
    "domeos-hostnet demo is running",
    `  console       ${sa.url}/console/#token=${sa.adminToken}`,
    `  admin API     ${sa.url}/api/deployments   (Authorization: Bearer ${sa.adminToken})`,
    `  domeos-server ${sa.serverUrl}   (agent API: pods report their ports here)`,
    `  store         ${sa.store.description}`,
    `  deployment    default/${DEPLOYMENT}: replicas of examples/demo-app, network mode host, 1 port`,
    `                pods' working dirs and logs in ${join(x.dataDir, "pods", "default")}`,
    `  domeos-confd  ${confd.argv().join(" ")}`,
    `                renders ${x.dest}`,
    nginx
      ? `  nginx         http://127.0.0.1:${nginx.port}/`
      : "  nginx         not installed (apt-get install nginx): the upstream file above is still rendered",
    ...(nginx ? [modeLine(nginx)] : []),
    "",
    "Ctrl-C stops everything.",
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

function modeLine(nginx: DemoNginx): string {
  if (nginx.dynamic)
    return `                dynamic endpoints: pod changes are pushed to ${nginx.membersUrl} (Lua), no reload (docs/nginx-dynamic.md)`;
  return "                reload mode: each pod change reloads nginx (dynamic endpoints need libnginx-mod-http-lua and lua-resty-core)";
}

function printRouted(nginx: DemoNginx | null, replicas: string[], desired: number): void {
  if (replicas.length === 0) return;
  const how = nginx ? "routed by nginx" : "up (no nginx)";
  const lines = [`${replicas.length} of ${desired} replicas ${how}.`];
  if (nginx)
    lines.push(`Try:  for i in 1 2 3 4 5 6; do curl -s http://127.0.0.1:${nginx.port}/; done`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((err) => {
  process.stderr.write(`demo: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
