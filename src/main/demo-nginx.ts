// nginx for the demo: a private prefix directory, one server on a free
// loopback port proxying to the upstream domeos-confd renders. Started only
// when nginx is installed. With `dynamic`, the Lua module is loaded and a
// loopback-only endpoint receives member lists (docs/nginx-dynamic.md).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  dynamicHttpLines,
  loadModuleLines,
  luaModuleAvailable,
} from "../confd/dynamic/nginx-conf.js";
import { killGroup, stopChild } from "./detached-child.js";
import { repoRoot } from "./repo-root.js";

export const NGINX_BIN = process.env.NGINX_BIN ?? "/usr/sbin/nginx";
export const UPSTREAM_NAME = "img_cs_group";

export function nginxInstalled(): boolean {
  return existsSync(NGINX_BIN) && spawnSync(NGINX_BIN, ["-v"]).status === 0;
}

/** nginx with Debian's Lua module and lua-resty-core: dynamic endpoints work. */
export function nginxLuaInstalled(): boolean {
  return nginxInstalled() && luaModuleAvailable(NGINX_BIN);
}

export interface DemoNginxDynamic {
  /** Loopback port of the member-list endpoint. */
  membersPort: number;
}

export class DemoNginx {
  readonly confPath: string;
  readonly upstreamPath: string;
  /** Dynamic mode: the shared secret's file (confd's dynamic_endpoints.secret_file). */
  readonly secretFile: string;
  readonly pidPath: string;
  private proc: ChildProcess | null = null;

  constructor(
    readonly prefix: string,
    readonly port: number,
    readonly dynamic?: DemoNginxDynamic,
  ) {
    this.confPath = join(prefix, "nginx.conf");
    this.upstreamPath = join(prefix, "conf.d", "upstream.conf");
    this.secretFile = join(prefix, "members.secret");
    this.pidPath = join(prefix, "nginx.pid");
  }

  /** Dynamic mode: the endpoint confd pushes member lists to. */
  get membersUrl(): string {
    return `http://127.0.0.1:${this.dynamic?.membersPort}/members`;
  }

  /** The master's pid (nginx -s reload keeps it; a restart changes it). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The workers' pids, sorted: a reload replaces them, a member push does not. */
  workerPids(): number[] {
    const master = this.proc?.pid;
    const out: number[] = [];
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'
        if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === master)
          out.push(Number(d));
      } catch {
        // gone meanwhile
      }
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * check_cmd for the confd resource: `nginx -t` on a copy of nginx.conf that
   * includes the staged file ({{.src}}) instead of the live one. The seed's
   * `nginx -t -c nginx.conf` checks the file that is live now, so an upstream
   * without servers (no pod ready yet) would pass the check and then fail the
   * reload; checked staged, it is refused and nginx keeps the last good one.
   */
  checkCmd(): string {
    const script = join(repoRoot(), "examples", "confd", "nginx-check-staged.sh");
    const line = `include ${join(this.prefix, "conf.d")}/*.conf;`;
    return `NGINX_BIN=${NGINX_BIN} ${script} ${this.confPath} '${line}' {{.src}} -p ${this.prefix} -e ${join(this.prefix, "logs/error.log")}`;
  }

  /**
   * reload_cmd: `nginx -s reload` that returns once the new workers took
   * over (examples/confd/nginx-reload-wait.sh), so confd's appliedRevision,
   * which a drain waits for before SIGTERM, means nginx routes with it.
   */
  reloadCmd(): string {
    const script = join(repoRoot(), "examples", "confd", "nginx-reload-wait.sh");
    return `NGINX_BIN=${NGINX_BIN} ${script} ${this.pidPath} ${this.flags()}`;
  }

  private flags(): string {
    return `-p ${this.prefix} -e ${join(this.prefix, "logs/error.log")} -c ${this.confPath}`;
  }

  /**
   * Write nginx.conf and a first upstream (one placeholder server marked
   * down: nginx refuses an upstream without servers) that domeos-confd
   * replaces as soon as pods are up.
   */
  configure(): void {
    mkdirSync(join(this.prefix, "conf.d"), { recursive: true });
    mkdirSync(join(this.prefix, "logs"), { recursive: true });
    const p = this.prefix;
    if (this.dynamic)
      writeFileSync(this.secretFile, randomBytes(24).toString("hex"), { mode: 0o600 });
    const dyn = this.dynamic;
    writeFileSync(
      this.confPath,
      `${dyn ? loadModuleLines() : ""}daemon off;
master_process on;
worker_processes 1;
pid ${this.pidPath};
error_log ${join(p, "logs/error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${p}/body;
  proxy_temp_path ${p}/proxy;
  fastcgi_temp_path ${p}/fastcgi;
  uwsgi_temp_path ${p}/uwsgi;
  scgi_temp_path ${p}/scgi;
${dyn ? dynamicHttpLines({ listen: `127.0.0.1:${dyn.membersPort}`, secretFile: this.secretFile }) : ""}  include ${join(p, "conf.d")}/*.conf;
  server {
    listen 127.0.0.1:${this.port};
    location / {
      proxy_pass http://${UPSTREAM_NAME};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502;
      proxy_next_upstream_tries 3;
      # longer than one try's read timeout: an idempotent request caught by a
      # pod that hung (its connections reset when it resumes, or the 10 s
      # read timeout) is still passed to the next pod
      proxy_next_upstream_timeout 15s;
      proxy_connect_timeout 1s;
      # a pod that took the request but hangs (SIGSTOP, dead host) fails
      # after this instead of nginx's 60 s (examples/confd/nginx.conf)
      proxy_send_timeout 10s;
      proxy_read_timeout 10s;
    }
  }
}
`,
    );
    writeFileSync(this.upstreamPath, `upstream ${UPSTREAM_NAME} { server 127.0.0.1:1 down; }\n`);
  }

  async start(): Promise<void> {
    const err = openSync(join(this.prefix, "logs/stderr.log"), "a");
    this.proc = spawn(
      NGINX_BIN,
      ["-p", this.prefix, "-e", join(this.prefix, "logs/error.log"), "-c", this.confPath],
      // its own process group: the terminal's Ctrl-C must not stop nginx while pods drain
      { stdio: ["ignore", "ignore", err], detached: true },
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) {
        throw new Error(
          `nginx exited with code ${this.proc.exitCode} (see ${join(this.prefix, "logs")})`,
        );
      }
      try {
        await fetch(`http://127.0.0.1:${this.port}/`, { signal: AbortSignal.timeout(1000) });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`nginx did not answer on port ${this.port} within 10 s`);
  }

  /** Last resort when `npm start` exits without stop(): nginx is in its own group. */
  kill(): void {
    killGroup(this.proc);
  }

  /** Graceful stop (SIGQUIT), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    await stopChild(p, "SIGQUIT");
  }
}
