// Starts a real nginx (Debian package nginx) on a loopback port chosen per
// run, with a private prefix directory; stops it by PID.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";

export const NGINX_BIN = process.env.NGINX_BIN ?? "/usr/sbin/nginx";

export function requireNginx(): void {
  const r = spawnSync(NGINX_BIN, ["-v"]);
  if (r.status !== 0) {
    throw new Error(`nginx not found at ${NGINX_BIN}: apt-get install -y nginx (see .ci/run)`);
  }
}

export class NginxServer {
  readonly prefix = mkdtempSync(join(tmpdir(), "nginx-test-"));
  readonly confPath = join(this.prefix, "nginx.conf");
  /** Directory included by nginx.conf (`include conf.d/*.conf`). */
  readonly confDir = join(this.prefix, "conf.d");
  port = 0;
  private proc: ChildProcess | null = null;

  /**
   * Write nginx.conf: one server on `port` proxying to `upstreamName`;
   * `location` replaces the body of `location /` (e.g. an example's settings).
   */
  async configure(upstreamName: string, location?: string): Promise<void> {
    requireNginx();
    this.port = await freePort();
    mkdirSync(this.confDir, { recursive: true });
    mkdirSync(join(this.prefix, "logs"), { recursive: true });
    writeFileSync(
      this.confPath,
      `daemon off;
master_process on;
worker_processes 1;
pid ${join(this.prefix, "nginx.pid")};
error_log ${join(this.prefix, "logs/error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${this.prefix}/body;
  proxy_temp_path ${this.prefix}/proxy;
  fastcgi_temp_path ${this.prefix}/fastcgi;
  uwsgi_temp_path ${this.prefix}/uwsgi;
  scgi_temp_path ${this.prefix}/scgi;
  include ${this.confDir}/*.conf;
  server {
    listen 127.0.0.1:${this.port};
    location / { ${location ?? `proxy_pass http://${upstreamName}; proxy_next_upstream error timeout;`} }
  }
}
`,
    );
  }

  /** Command lines for confd resources: check a staged file, reload. */
  checkCmd(): string {
    return `${NGINX_BIN} -t -p ${this.prefix} -c ${this.confPath}`;
  }
  reloadCmd(): string {
    return `${NGINX_BIN} -s reload -p ${this.prefix} -c ${this.confPath}`;
  }

  async start(): Promise<void> {
    this.proc = spawn(NGINX_BIN, ["-p", this.prefix, "-c", this.confPath], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    this.proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      try {
        await fetch(`http://127.0.0.1:${this.port}/`);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`nginx did not start: ${stderr}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGQUIT");
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.prefix, { recursive: true, force: true });
  }
}
