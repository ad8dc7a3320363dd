// domeos-confd for the demo: the seed's nginx.toml and upstream template
// (examples/confd-demo, minus the three `check` lines stock nginx lacks)
// with this run's paths, watching the server's embedded store.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killGroup, stopChild } from "./detached-child.js";
import { repoRoot } from "./repo-root.js";

export interface DemoConfdOptions {
  /** Where conf.d/ and templates/ are written. */
  confdir: string;
  /** confd's -backend (default embedded). */
  backend?: "embedded" | "etcdv3";
  /** -node: the server's data dir for embedded (store/store.db is found there), an etcd URL for etcdv3. */
  node: string;
  dest: string;
  checkCmd?: string;
  reloadCmd?: string;
  metricsPort: number;
  logPath: string;
  /** Dynamic endpoints: push members to nginx's Lua endpoint instead of reloading (docs/nginx-dynamic.md). */
  dynamic?: { endpoint: string; secretFile: string };
}

export class DemoConfd {
  private proc: ChildProcess | null = null;
  private exitNote = "";

  constructor(readonly o: DemoConfdOptions) {}

  get healthUrl(): string {
    return `http://127.0.0.1:${this.o.metricsPort}/healthz`;
  }

  /** The command line, for printing. */
  argv(): string[] {
    return [
      join(repoRoot(), "bin", "domeos-confd"),
      "-confdir",
      this.o.confdir,
      "-backend",
      this.o.backend ?? "embedded",
      "-node",
      this.o.node,
      "-watch",
      "-metrics-addr",
      `127.0.0.1:${this.o.metricsPort}`,
    ];
  }

  writeConfig(): void {
    const src = join(repoRoot(), "examples", "confd-demo");
    mkdirSync(join(this.o.confdir, "conf.d"), { recursive: true });
    mkdirSync(join(this.o.confdir, "templates"), { recursive: true });
    copyFileSync(
      join(src, "templates", "upstream.tmpl"),
      join(this.o.confdir, "templates", "upstream.tmpl"),
    );
    const lines = readFileSync(join(src, "conf.d", "nginx.toml"), "utf8")
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .flatMap((l) => {
        if (l.startsWith("dest =")) return [`dest = ${JSON.stringify(this.o.dest)}`];
        if (l.startsWith("check_cmd ="))
          return this.o.checkCmd ? [`check_cmd = ${JSON.stringify(this.o.checkCmd)}`] : [];
        if (l.startsWith("reload_cmd ="))
          return this.o.reloadCmd ? [`reload_cmd = ${JSON.stringify(this.o.reloadCmd)}`] : [];
        // owner = "root" works only as root; otherwise the file keeps its runner as owner
        if (l.startsWith("owner =") && process.getuid?.() !== 0) return [];
        return [l];
      });
    const d = this.o.dynamic;
    if (d)
      lines.push(
        "",
        "[template.dynamic_endpoints]",
        `endpoint = ${JSON.stringify(d.endpoint)}`,
        `secret_file = ${JSON.stringify(d.secretFile)}`,
        "",
      );
    writeFileSync(join(this.o.confdir, "conf.d", "nginx.toml"), lines.join("\n"));
  }

  start(): void {
    const [cmd, ...args] = this.argv();
    const out = openSync(this.o.logPath, "a");
    // its own process group: the terminal's Ctrl-C reaches only `npm start`,
    // which stops confd after the pods have drained through it
    this.proc = spawn(cmd, args, { stdio: ["ignore", out, out], detached: true });
    this.proc.once("exit", (code, sig) => {
      this.exitNote = `domeos-confd exited (${sig ?? `code ${code}`}); see ${this.o.logPath}`;
    });
  }

  /** Why confd is not running, or "" while it runs. */
  get problem(): string {
    return this.exitNote;
  }

  /** Last resort when `npm start` exits without stop(): confd is in its own group. */
  kill(): void {
    killGroup(this.proc);
  }

  /** Graceful stop (SIGTERM), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    await stopChild(p, "SIGTERM");
  }
}
