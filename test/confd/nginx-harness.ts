// The pieces of the load-balancer end-to-end tests: real HTTP backends on
// 127.0.0.1, pods pointing at them, a confdir with the example nginx
// resource, a running bin/domeos-confd, and "which backends does nginx
// really route to".
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { podJson } from "../../bench/confd-pods.js";
import { REPO_ROOT } from "../support/fixtures.js";
import { NGINX_BIN, type NginxServer } from "../support/nginx.js";
import { until as poll } from "../support/poll.js";
import { freePort } from "../support/ports.js";

/** Repository root. */
export const ROOT = REPO_ROOT;
export const EXAMPLE = join(ROOT, "examples/confd");
export const PODS = "/registry/pods/default";

/** Poll `probe` every `interval` ms until it gives a truthy value (a throw ends the wait). */
export function until<T>(
  probe: () => T | Promise<T>,
  ms = 20_000,
  what = "the condition",
  interval = 10,
): Promise<NonNullable<T>> {
  return poll(what, probe, { timeoutMs: ms, intervalMs: interval });
}

/** An HTTP server answering every request with its own name. */
export class Backend {
  port = 0;
  private server: Server | null = null;
  constructor(readonly name: string) {}
  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((_req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(this.name);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, "127.0.0.1", r));
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** A pod the seed template renders: deployName img-host-test, accessType DIY. */
export function podFor(
  name: string,
  ip: string,
  port: number | string,
  deployName = "img-host-test",
): string {
  return podJson({ name, podIP: ip, port: String(port), deployName, accessType: "DIY" });
}

/**
 * A confdir with the example resource and template: dest in nginx's conf.d,
 * check_cmd checking the staged file with nginx -t, reload_cmd only once
 * nginx runs (the first render happens before nginx can start: its config
 * needs the upstream).
 */
export function makeConfdir(nginx: NginxServer, extra = ""): { confdir: string; dest: string } {
  const confdir = mkdtempSync(join(tmpdir(), "confd-e2e-"));
  mkdirSync(join(confdir, "conf.d"));
  mkdirSync(join(confdir, "templates"));
  copyFileSync(join(EXAMPLE, "templates/upstream.tmpl"), join(confdir, "templates/upstream.tmpl"));
  const check = join(confdir, "nginx-check-staged.sh");
  copyFileSync(join(EXAMPLE, "nginx-check-staged.sh"), check);
  chmodSync(check, 0o755);
  const dest = join(nginx.confDir, "upstream.conf");
  const pid = join(nginx.prefix, "nginx.pid");
  const include = `include ${nginx.confDir}/*.conf;`;
  writeFileSync(
    join(confdir, "conf.d/nginx.toml"),
    `[template]
src = "upstream.tmpl"
dest = ${JSON.stringify(dest)}
keys = [
 "/registry/pods/default",
]
mode = "0644"
check_cmd = ${JSON.stringify(`NGINX_BIN=${NGINX_BIN} ${check} ${nginx.confPath} '${include}' {{.src}} -p ${nginx.prefix}`)}
reload_cmd = ${JSON.stringify(`[ ! -f ${pid} ] || ${nginx.reloadCmd()}`)}
${extra}`,
  );
  return { confdir, dest };
}

/** confd's arguments for the resources of `confdir` (and no config file) on `backend` at `node`. */
export function confdArgs(confdir: string, backend: string, node: string): string[] {
  return ["-confdir", confdir, "-config-file", "/nonexistent", "-backend", backend, "-node", node];
}

export interface ConfdRun {
  /** Exit code; null when a signal ended it (the 60 s limit: SIGTERM). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * bin/domeos-confd run to its end (-onetime, -version, a bad flag): its exit
 * code and output; ended after 60 s. Asynchronous, so that a FAKE apiserver
 * in this process keeps answering it.
 */
export function runConfd(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ConfdRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, "bin/domeos-confd"), ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** bin/domeos-confd as a child process, its stderr kept for assertions. */
export class Confd {
  proc: ChildProcess | null = null;
  stderr = "";
  stdout = "";
  exitCode: number | null = null;

  constructor(readonly args: string[]) {}

  start(): void {
    this.proc = spawn(process.execPath, [join(ROOT, "bin/domeos-confd"), ...this.args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stdout?.on("data", (d: Buffer) => {
      this.stdout += d.toString();
    });
    this.proc.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.proc.on("exit", (code) => {
      this.exitCode = code ?? -1;
    });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
}

/** Names of the backends answering `n` requests through nginx (errors as "502" etc.). */
export async function routedTo(port: number, n = 12): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) });
      const body = await res.text();
      seen.add(res.ok ? body : String(res.status));
    } catch (err) {
      seen.add(`error: ${(err as Error).message}`);
    }
  }
  return seen;
}

export const sameSet = (a: Set<string>, b: string[]) =>
  a.size === b.length && b.every((x) => a.has(x));

export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The reload budget lines (wait, reload_min_interval) of the example resource, for makeConfdir's `extra`. */
export function exampleReloadBudget(): string {
  return readFileSync(join(EXAMPLE, "conf.d/nginx.toml"), "utf8")
    .split("\n")
    .filter((l) => /^(wait|reload_min_interval) =/.test(l))
    .join("\n");
}

/** The body of `location /` in the example nginx.conf (the fail-fast proxy settings). */
export function exampleLocation(): string {
  const conf = readFileSync(join(EXAMPLE, "nginx.conf"), "utf8");
  const m = /location \/ \{([^}]*)\}/.exec(conf);
  if (!m) throw new Error("examples/confd/nginx.conf has no `location / { ... }`");
  return m[1]
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter((l) => l !== "")
    .join(" ");
}

/** A value of a Prometheus metric line (labels in any order), or 0. */
export async function metricValue(url: string, name: string, labels: Record<string, string> = {}) {
  const text = await (await fetch(url)).text();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(" ").pop());
  }
  return 0;
}

function title(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return null; // exited
  }
}

/** The master's workers still accepting connections (not "shutting down"). */
export function acceptingWorkers(master: number): number[] {
  const kids = readFileSync(`/proc/${master}/task/${master}/children`, "utf8").trim();
  return kids
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((p) => {
      const t = title(p) ?? "";
      return t.includes("worker process") && !t.includes("shutting down");
    });
}

/** Has the process a SIGHUP pending (the reload signal sent, not handled yet)? */
export function hupPending(pid: number): boolean {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const shd = /^ShdPnd:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "0";
  return (BigInt(`0x${shd}`) & 1n) === 1n;
}
