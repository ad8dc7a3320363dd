// bin/domeos-server's runtimes as a user meets them: with default flags it
// runs host-mode deployments here as processes (through bin/domeize), and
// serves the console; `--runtime none` only stores deployments.
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { DemoNginx, nginxInstalled } from "../../src/main/demo-nginx.js";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { REPO_ROOT } from "../support/fixtures.js";
import { until } from "../support/poll.js";
import { freePort } from "../support/ports.js";
import { runDeployCli, type ServerProcess, startServerProcess } from "./helpers.js";

const ADMIN = "cli-runtime-admin-token";
const children: ChildProcess[] = [];
const dirs: string[] = [];

after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A small app: answers with its pod name on AUTO_PORT0. */
const APP = [
  process.execPath,
  "-e",
  "require('http').createServer((q,r)=>r.end(process.env.MY_POD_NAME)).listen(+process.env.AUTO_PORT0,'127.0.0.1')",
];

interface Running extends ServerProcess {
  dataDir: string;
}

async function startCli(extraArgs: string[]): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), "server-cli-runtime-"));
  dirs.push(dataDir);
  // a range of its own, away from other tests' default 20000-20999
  const base = 40000 + Math.floor(Math.random() * 40) * 200;
  const server = await startServerProcess(
    [
      `--data-dir=${dataDir}`,
      `--admin-token=${ADMIN}`,
      `--port-range=${base}-${base + 199}`,
      ...extraArgs,
    ],
    { ms: 20_000 },
  );
  children.push(server.child);
  return { ...server, dataDir };
}

function admin(url: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface StoredPod {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: { phase?: string; podIP?: string };
}

async function storedPods(store: EmbeddedStore): Promise<StoredPod[]> {
  const { kvs } = await store.list("/registry/pods/default/");
  return kvs.map((kv) => JSON.parse(kv.value) as StoredPod);
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null) r();
    else child.once("exit", () => r());
  });
}

test("default runtime: a deployment's replica runs as a process, Running in the store; SIGTERM stops it", async () => {
  const s = await startCli([]);
  assert.match(s.stderr(), /"runtime":"process"/);
  const res = await admin(s.url, "/api/deployments", {
    name: "cli-app",
    replicas: 1,
    command: APP,
    ports: 1,
  });
  assert.equal(res.status, 201, await res.text());
  const store = new EmbeddedStore(join(s.dataDir, "store"), { pollMs: 50 });
  try {
    let pod: StoredPod | undefined;
    await until(
      "the pod to become ready",
      async () => {
        [pod] = await storedPods(store);
        return (
          pod?.status?.podIP !== undefined && pod.metadata.annotations?.AUTO_PORT0 !== undefined
        );
      },
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        detail: () => `pod: ${JSON.stringify(pod)}\n${s.stderr()}`,
      },
    );
    assert.equal(pod?.status?.phase, "Running");
    const port = pod?.metadata.annotations?.AUTO_PORT0;
    // the replica itself answers on its AUTO_PORT0 with its pod name
    const hello = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await hello.text(), pod?.metadata.name);
    // the console is served on the same address
    const page = await fetch(`${s.url}/console/`);
    assert.equal(page.status, 200);

    s.child.kill("SIGTERM");
    await stopped(s.child);
    assert.equal(s.child.exitCode, 0, s.stderr());
    // the pod stays in the store, no longer running; its process is gone
    const [after] = await storedPods(store);
    assert.equal(after?.metadata.name, pod?.metadata.name);
    assert.equal(after?.status?.podIP, undefined);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
  } finally {
    await store.close();
  }
});

test("default runtime: an image-only deployment is refused with the runtime's reason, nothing stored", async () => {
  const s = await startCli([]);
  const res = await admin(s.url, "/api/deployments", {
    name: "img-only",
    image: "web:1",
    ports: 1,
  });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { resultMsg: string }).resultMsg, /command is required/);
  const list = (await (await admin(s.url, "/api/deployments")).json()) as { result: unknown[] };
  assert.deepEqual(list.result, []);
  s.child.kill("SIGTERM");
  await stopped(s.child);
});

test("--runtime none: deployments are stored, no pod or process is started", async () => {
  const s = await startCli(["--runtime", "none"]);
  assert.match(s.stderr(), /"runtime":"none"/);
  const res = await admin(s.url, "/api/deployments", {
    name: "cli-app",
    replicas: 2,
    command: APP,
    ports: 1,
  });
  assert.equal(res.status, 201, await res.text());
  // the process runtime creates its pod objects before the create answers
  const store = new EmbeddedStore(join(s.dataDir, "store"));
  try {
    assert.deepEqual(await storedPods(store), []);
  } finally {
    await store.close();
  }
  assert.equal(existsSync(join(s.dataDir, "pods")), false);
  s.child.kill("SIGTERM");
  await stopped(s.child);
  assert.equal(s.child.exitCode, 0, s.stderr());
});

test("deploy list/status/events/logs against a running server: a serving replica and a crash-looping one", {
  timeout: 180_000,
}, async () => {
  const s = await startCli([]);
  const cli = (args: string[]) => runDeployCli(args, s.url, ADMIN);
  try {
    const good = [APP[0]!, "-e", `console.log("hello from", process.env.MY_POD_NAME); ${APP[2]}`];
    assert.equal(
      (await admin(s.url, "/api/deployments", { name: "good", command: good, ports: 1 })).status,
      201,
    );
    const crash = [process.execPath, "-e", "console.error('boom'); process.exit(3)"];
    assert.equal(
      (await admin(s.url, "/api/deployments", { name: "crashy", command: crash, ports: 1 })).status,
      201,
    );
    let status = { code: 0, out: "", err: "" };
    await until(
      "good to show ready",
      async () => {
        status = await cli(["status", "good"]);
        return /\n\S+\s+1\/1\s+Running\s+0\s+\d+\s+127\.0\.0\.1\s/.test(status.out);
      },
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        detail: () => `status: ${status.out}${status.err}\n${s.stderr()}`,
      },
    );
    assert.match(status.out, /^Deployment: default\/good \(cluster default\)$/m);
    assert.match(status.out, /^Replicas: {3}1\/1 ready, 1 pods$/m);
    assert.match(
      status.out,
      /^POD\s+READY\s+STATUS\s+RESTARTS\s+PORTS\s+HOST\s+AGE\s+REVISION\s+LAST EXIT$/m,
    );
    let events = { code: 0, out: "", err: "" };
    await until(
      "the crash event",
      async () => {
        events = await cli(["events", "crashy"]);
        return /container exited: exit code 3/.test(events.out) && /Restarted/.test(events.out);
      },
      { timeoutMs: 30_000, intervalMs: 100, detail: () => `events: ${events.out}${events.err}` },
    );
    assert.match(events.out, /^AGE\s+TYPE\s+REASON\s+POD\s+MESSAGE$/m);
    // the crash is in the server's JSON log at warn, with the pod, the exit code and the delay
    const lines = s
      .stderr()
      .split("\n")
      .filter((l) => l.trim() !== "");
    const records = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return assert.fail(`a raw line in the JSON log: ${l}`);
      }
    });
    const crashLog = records.find((r) => r.msg === "pod exited; restarting after back-off");
    assert.ok(crashLog, lines.join("\n"));
    assert.equal(crashLog.level, "warn");
    assert.equal(crashLog.exitCode, 3);
    assert.match(String(crashLog.pod), /^default\/crashy-/);
    assert.equal(typeof crashLog.restartInMs, "number");
    const crashStatus = await cli(["status", "crashy"]);
    assert.match(
      crashStatus.out,
      /0\/1\s+(CrashLoopBackOff|Running|Pending)\s+[1-9]\d*\s.*code 3$/m,
    );
    const list = await cli(["list"]);
    assert.match(list.out, /^default\s+crashy\s+0\/1\s+[1-9]\d*\s+1\s+HOST\s/m);
    assert.match(list.out, /^default\s+good\s+1\/1\s+0\s+1\s+HOST\s/m);
    const json = await cli(["status", "good", "-o", "json"]);
    const parsed = JSON.parse(json.out) as {
      pods: { ready: boolean; ports: Record<string, string> }[];
    };
    assert.equal(parsed.pods[0]?.ready, true);
    assert.match(parsed.pods[0]?.ports.AUTO_PORT0 ?? "", /^\d+$/);
    const logs = await cli(["logs", "good"]);
    assert.equal(logs.code, 0, logs.err);
    assert.match(logs.out, /hello from good-/);
    // stderr has the app's lines and domeize's own (it starts the app at every restart)
    const crashLogs = await cli(["logs", "crashy", "--stream", "stderr", "--tail", "20"]);
    assert.match(crashLogs.out, /^boom$/m);
    const one = await cli(["logs", "crashy", "--stream", "stderr", "--tail", "1"]);
    assert.equal(one.out.split("\n").length, 2, one.out); // exactly one line
    const missing = await cli(["logs", "good", "--pod", "nope"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /HTTP 404: pod "nope" is not a pod of this deployment/);
    // -f: lines written after the call arrive; the CLI ends when the stream does
    const ac = new AbortController();
    const followed = fetch(`${s.url}/api/deployments/default/good/logs?follow=1&tail=0`, {
      headers: { authorization: `Bearer ${ADMIN}` },
      signal: ac.signal,
    });
    const res = await followed;
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const podName = parsed.pods[0] as unknown as { name: string };
    const logFile = join(s.dataDir, "pods", "default", podName.name, "stdout.log");
    appendFileSync(logFile, "appended line\n");
    let seen = "";
    while (!seen.includes("appended line\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += Buffer.from(value).toString();
    }
    ac.abort();
    assert.equal(seen, "appended line\n");
    // a deleted pod's logs are kept for a while: scale to 0, then ask for them
    assert.equal((await cli(["scale", "good", "0"])).code, 0);
    await until(
      "the pod of good to be deleted",
      async () => (await cli(["status", "good"])).out.includes("No pods."),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const kept = await cli(["logs", "good", "--pod", podName.name]);
    assert.equal(kept.code, 0, kept.err);
    assert.match(kept.out, /hello from good-/);
    assert.match(kept.out, /appended line/);
  } finally {
    s.child.kill("SIGTERM");
    await stopped(s.child);
  }
});

test("named ports end to end: NEED_PORTS=http,admin -> AUTO_PORT_HTTP/ADMIN in the app, templates, annotations, ledger, CLI", {
  timeout: 180_000,
}, async () => {
  const s = await startCli([]);
  const tmplDir = mkdtempSync(join(tmpdir(), "named-ports-"));
  dirs.push(tmplDir);
  const tmpl = join(tmplDir, "ports.tmpl");
  writeFileSync(tmpl, "http={{ .Env.AUTO_PORT_HTTP }} admin={{ .Env.AUTO_PORT_ADMIN }}\n");
  const app = [
    process.execPath,
    "-e",
    "require('http').createServer((q,r)=>r.end(process.env.AUTO_PORT_ADMIN)).listen(+process.env.AUTO_PORT_HTTP,'127.0.0.1')",
  ];
  try {
    const res = await admin(s.url, "/api/deployments", {
      name: "named",
      command: app,
      portNames: ["http", "admin"],
      templates: [`${tmpl}:ports.txt`],
    });
    assert.equal(res.status, 201, await res.text());
    const store = new EmbeddedStore(join(s.dataDir, "store"), { pollMs: 50 });
    let pod: StoredPod | undefined;
    try {
      await until(
        "the named ports to be reported",
        async () => {
          [pod] = (await storedPods(store)).filter((p) => p.metadata.name.startsWith("named-"));
          return (
            pod?.metadata.annotations?.AUTO_PORT_ADMIN !== undefined &&
            pod.status?.podIP !== undefined
          );
        },
        {
          timeoutMs: 60_000,
          intervalMs: 100,
          detail: () => `pod: ${JSON.stringify(pod)}\n${s.stderr()}`,
        },
      );
    } finally {
      await store.close();
    }
    const ann = pod!.metadata.annotations!;
    assert.equal(ann.AUTO_PORT_HTTP, ann.AUTO_PORT0);
    assert.equal(ann.AUTO_PORT_ADMIN, ann.AUTO_PORT1);
    // the app got both names; the template rendered them
    assert.equal(
      await (await fetch(`http://127.0.0.1:${ann.AUTO_PORT_HTTP}/`)).text(),
      ann.AUTO_PORT_ADMIN,
    );
    const rendered = readFileSync(
      join(s.dataDir, "pods", "default", pod!.metadata.name, "work", "ports.txt"),
      "utf8",
    );
    assert.equal(rendered, `http=${ann.AUTO_PORT0} admin=${ann.AUTO_PORT1}\n`);
    // the ledger holds both ports for the pod; the CLI shows the names
    const state = (await (await fetch(`${s.url}/console/api/state?token=${ADMIN}`)).json()) as {
      hosts: Record<string, { port: number; pod?: string }[]>;
      pods: { name: string; ports: Record<string, string> }[];
    };
    const held = Object.values(state.hosts)
      .flat()
      .filter((o) => o.pod === `default/${pod!.metadata.name}`);
    assert.deepEqual(
      held.map((o) => o.port).sort(),
      [Number(ann.AUTO_PORT0), Number(ann.AUTO_PORT1)].sort(),
    );
    assert.equal(
      state.pods.find((p) => p.name === pod!.metadata.name)?.ports.AUTO_PORT_HTTP,
      ann.AUTO_PORT0,
    );
    const { out } = await runDeployCli(["status", "named"], s.url, ADMIN);
    assert.match(
      out,
      new RegExp(`admin=${ann.AUTO_PORT1},http=${ann.AUTO_PORT0}|http=${ann.AUTO_PORT0}`),
    );
    await upstreamByName(s.dataDir, tmplDir, pod!, "named");
  } finally {
    s.child.kill("SIGTERM");
    await stopped(s.child);
  }
});

/**
 * The last leg of named ports: a confd template that selects the port by its
 * name (`AUTO_PORT_HTTP`, not `AUTO_PORT0`) renders the upstream, the real
 * bin/domeos-confd -onetime checks it with `nginx -t` and reloads a real
 * nginx, and a request through nginx reaches the app's HTTP port.
 */
async function upstreamByName(
  dataDir: string,
  dir: string,
  pod: StoredPod,
  deployment: string,
): Promise<void> {
  const ann = pod.metadata.annotations!;
  const tmpl = `upstream img_cs_group {
{{range gets "/registry/pods/default/*"}}{{$p := json .Value}}{{if eq $p.metadata.annotations.deployName "${deployment}"}}{{if $p.metadata.annotations.AUTO_PORT_HTTP}}  server {{$p.status.podIP}}:{{$p.metadata.annotations.AUTO_PORT_HTTP}};
{{end}}{{end}}{{end}}  server 127.0.0.1:1 down;
}
`;
  const confdir = join(dir, "confd");
  mkdirSync(join(confdir, "templates"), { recursive: true });
  mkdirSync(join(confdir, "conf.d"), { recursive: true });
  writeFileSync(join(confdir, "templates", "upstream.tmpl"), tmpl);
  const nginx = nginxInstalled() ? new DemoNginx(join(dir, "nginx"), await freePort()) : null;
  const dest = nginx?.upstreamPath ?? join(dir, "upstream.conf");
  const toml = [
    "[template]",
    'src = "upstream.tmpl"',
    `dest = ${JSON.stringify(dest)}`,
    'keys = ["/registry/pods/default"]',
    ...(nginx
      ? [
          `check_cmd = ${JSON.stringify(nginx.checkCmd())}`,
          `reload_cmd = ${JSON.stringify(nginx.reloadCmd())}`,
        ]
      : []),
  ];
  writeFileSync(join(confdir, "conf.d", "upstream.toml"), `${toml.join("\n")}\n`);
  try {
    if (nginx) {
      nginx.configure();
      await nginx.start();
    }
    const confd = spawnSync(
      join(REPO_ROOT, "bin", "domeos-confd"),
      ["-onetime", "-backend", "embedded", "-node", dataDir, "-confdir", confdir],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(confd.status, 0, `domeos-confd -onetime failed:\n${confd.stderr}`);
    const upstream = readFileSync(dest, "utf8");
    assert.match(upstream, new RegExp(`server ${pod.status!.podIP}:${ann.AUTO_PORT_HTTP};`));
    assert.doesNotMatch(
      upstream,
      new RegExp(`:${ann.AUTO_PORT_ADMIN};`),
      "the admin port is not routed",
    );
    if (nginx) {
      // the app answers its admin port number on the HTTP port (nginx -s
      // reload returns before the new workers take over: wait for them)
      let answer = "";
      await until(
        "nginx to route to the HTTP port",
        async () => {
          const res = await fetch(`http://127.0.0.1:${nginx.port}/`, {
            headers: { connection: "close" },
          });
          answer = `${res.status} ${await res.text()}`;
          return res.status === 200;
        },
        { timeoutMs: 30_000, intervalMs: 100, detail: () => `last answer: ${answer}\n${upstream}` },
      );
      assert.equal(answer, `200 ${ann.AUTO_PORT_ADMIN}`);
    }
  } finally {
    await nginx?.stop();
  }
}
