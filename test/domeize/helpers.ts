// Shared helpers of the domeize tests: run the real launcher (bin/domeize)
// against the compiled program, and a real local HTTP server playing the
// DomeOS report endpoint with scripted answers.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { shellQuoteBytes } from "../../src/domeize/run/plan.js";
import { REPO_ROOT } from "../support/fixtures.js";
import { until as poll } from "../support/poll.js";

/** Repository root. */
export const ROOT = REPO_ROOT;
export const LAUNCHER = `${ROOT}/bin/domeize`;
export const MAIN = `${ROOT}/dist/src/domeize/main.js`;
/** The self-contained executable (scripts/build-domeize-exe.mjs). */
export const EXE = `${ROOT}/dist/bin/domeize-linux-x64`;
/** Its musl build (Alpine), when Bun's musl runtime could be had at build time. */
export const EXE_MUSL = `${ROOT}/dist/bin/domeize-linux-x64-musl`;

/**
 * What the suite runs as "domeize": the sh launcher with the Node program
 * (default), or the self-contained executable (DOMEIZE_TEST_TARGET=exe, as
 * exe-suite.test.ts runs the suite a second time).
 */
export const TARGET: "launcher" | "exe" =
  process.env.DOMEIZE_TEST_TARGET === "exe" ? "exe" : "launcher";
export const DOMEIZE = TARGET === "exe" ? EXE : LAUNCHER;
/** Tests of the sh launcher's protocol itself: skipped when the suite runs against the executable. */
export const LAUNCHER_ONLY = { skip: TARGET === "exe" ? "the launcher's own protocol" : false };

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export function tempDir(prefix = "domeize-test-"): string {
  return mkdtempSync(`${tmpdir()}/${prefix}`);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A clean environment: only what the test passes plus PATH/HOME. */
export function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, DOMEIZE_MAIN: MAIN, ...extra };
}

export function startDomeize(
  args: string[],
  env: NodeJS.ProcessEnv,
  viaNode = false,
): ChildProcess {
  return viaNode
    ? spawn(process.execPath, [MAIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] })
    : spawn(DOMEIZE, args, { env, stdio: ["ignore", "pipe", "pipe"] });
}

export function collect(child: ChildProcess): Promise<RunResult> {
  const t0 = Date.now();
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c) => {
    stdout += c;
  });
  child.stderr?.on("data", (c) => {
    stderr += c;
  });
  return new Promise((resolveRun) => {
    child.on("close", (code, signal) =>
      resolveRun({ code, signal, stdout, stderr, ms: Date.now() - t0 }),
    );
  });
}

export function runDomeize(
  args: string[],
  env: NodeJS.ProcessEnv,
  viaNode = false,
): Promise<RunResult> {
  return collect(startDomeize(args, env, viaNode));
}

export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly body: string;
  readonly headers: IncomingMessage["headers"];
}

export type Reply = (req: Recorded, res: ServerResponse) => void;

export const ok: Reply = (_req, res) => {
  res.setHeader("Content-Type", "application/json");
  res.end('{"resultCode":200,"resultMsg":"OK"}');
};

/** A real HTTP server standing in for the DomeOS agent API. */
export class ReportServer {
  readonly requests: Recorded[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(public reply: Reply = ok) {}

  get addr(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        const r = { method: req.method ?? "", url: req.url ?? "", body, headers: req.headers };
        this.requests.push(r);
        this.reply(r, res);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    const a = this.server.address();
    this.port = typeof a === "object" && a !== null ? a.port : 0;
    return this;
  }

  annotations(): Recorded[] {
    return this.requests.filter((r) => r.url.endsWith("/annotation"));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

export function podEnv(server: ReportServer, stateDir: string, extra: Record<string, string> = {}) {
  return baseEnv({
    NEED_PORTS: "2",
    DOMEOS_SERVER_ADDR: server.addr,
    CLUSTER_NAME: "c1",
    MY_POD_NAMESPACE: "ns1",
    MY_POD_NAME: "pod-a",
    DOMEIZE_STATE_DIR: stateDir,
    ...extra,
  });
}

/** Builds the Go test app fixtures/binder.go once; undefined when Go is missing. */
export function buildBinder(outDir: string): string | undefined {
  const out = `${outDir}/binder`;
  try {
    execFileSync("go", ["build", "-o", out, `${ROOT}/test/domeize/fixtures/binder.go`], {
      env: { ...process.env, GOCACHE: process.env.GOCACHE ?? "/tmp/gocache", GO111MODULE: "off" },
      stdio: "pipe",
    });
    return out;
  } catch {
    return undefined;
  }
}

/**
 * Starts argv with exactly `entries` (raw "NAME=VALUE" bytes) as its
 * environment, in the child's own pid: Node's spawn takes strings only
 * (UTF-8), so a script in `dir` hands the bytes to env(1) and execs it.
 */
export function spawnWithEnviron(dir: string, entries: Buffer[], argv: string[]): ChildProcess {
  const script = `${dir}/environ-${process.hrtime.bigint()}.sh`;
  const words = [..."/usr/bin/env -i --".split(" "), ...entries, ...argv].map((w) =>
    typeof w === "string" ? Buffer.from(w) : w,
  );
  writeFileSync(
    script,
    Buffer.concat([
      Buffer.from("exec"),
      ...words.flatMap((w) => [Buffer.from(" "), shellQuoteBytes(w)]),
      Buffer.from("\n"),
    ]),
  );
  return spawn("/bin/sh", [script], { stdio: ["ignore", "pipe", "pipe"] });
}

export interface RawRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export function collectRaw(child: ChildProcess): Promise<RawRun> {
  const out: Buffer[] = [];
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => out.push(c));
  child.stderr?.on("data", (c) => {
    stderr += c;
  });
  return new Promise((resolve) => {
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out), stderr }),
    );
  });
}

/** Poll `cond` every 50 ms until it is true (a throw ends the wait). */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await poll(what, cond, { timeoutMs, intervalMs: 50 });
}
