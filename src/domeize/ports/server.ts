// Client of the server's per-host port ledger (POST .../ports, see
// docs/ports-ledger.md). As that document asks: 409 (the pod has no
// status.hostIP yet, or the host has no free port yet) and 5xx are retried
// with backoff for up to `retryMs`; a connection error moves on to the next
// server of DOMEOS_SERVER_ADDR. Any other failure, or retries used up,
// returns undefined and domeize falls back to the host-local reservation; a
// 404 without a DomeOS envelope means a server without the endpoint, so it
// is not asked again. `host` is sent when HOST_IP is known.

import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { Backoff } from "../../retry/backoff.js";
import type { PodIdentity } from "../env.js";
import { type HttpResponse, HttpTransportError, httpRequest } from "../http.js";
import { log } from "../log.js";
import { agentHeaders, podUrl, resultCode } from "../report.js";

export interface LedgerRequest {
  readonly pod: PodIdentity;
  readonly count: number;
  readonly start: number;
  readonly end: number;
  readonly timeoutMs: number;
  /** Where "this server has no ledger" is remembered (DOMEIZE_STATE_DIR). */
  readonly stateDir: string;
  /** How long 409 and 5xx answers are retried before allocating locally. */
  readonly retryMs: number;
  readonly firstBackoffMs?: number;
}

const ABSENT_TTL_MS = 10 * 60_000;

function absentFile(req: LedgerRequest): string {
  return `${req.stateDir}/ledger-absent`;
}

/** A 404 from this server within ABSENT_TTL_MS: skip the round trip. */
function knownAbsent(req: LedgerRequest): boolean {
  try {
    const st = statSync(absentFile(req));
    return (
      Date.now() - st.mtimeMs < ABSENT_TTL_MS &&
      readFileSync(absentFile(req), "utf8") === req.pod.servers.join(",")
    );
  } catch {
    return false;
  }
}

function rememberAbsent(req: LedgerRequest): void {
  try {
    const tmp = `${absentFile(req)}.${process.pid}`;
    writeFileSync(tmp, req.pod.servers.join(","), { mode: 0o666 });
    renameSync(tmp, absentFile(req));
  } catch {
    // only an optimisation
  }
}

function parsePorts(body: string, req: LedgerRequest): number[] | undefined {
  try {
    const v = JSON.parse(body) as { result?: { ports?: unknown } };
    const ports = v.result?.ports;
    if (!Array.isArray(ports)) return undefined;
    const ok = ports.every((p) => Number.isInteger(p) && p >= req.start && p <= req.end);
    return ok ? (ports as number[]) : undefined;
  } catch {
    return undefined;
  }
}

type Answer =
  | { readonly kind: "ports"; readonly ports: number[] }
  | { readonly kind: "retry"; readonly why: string }
  | { readonly kind: "local"; readonly why: string | undefined };

function judge(res: HttpResponse, req: LedgerRequest): Answer {
  const rc = resultCode(res.body);
  const text = `HTTP ${res.status} ${res.body.slice(0, 120)}`;
  if (res.status === 404) {
    // No DomeOS envelope: an old server without the endpoint (remember
    // that); with one: this pod is not known yet, allocate locally.
    if (rc?.code === undefined) {
      rememberAbsent(req);
      return { kind: "local", why: undefined };
    }
    return { kind: "local", why: `port ledger: ${res.body.slice(0, 120)}` };
  }
  if (res.status === 409 || res.status >= 500) return { kind: "retry", why: text };
  const ports = res.status === 200 && rc?.code === 200 ? parsePorts(res.body, req) : undefined;
  return ports !== undefined
    ? { kind: "ports", ports }
    : { kind: "local", why: `port ledger answered ${text}` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function ledgerProposer(req: LedgerRequest) {
  let gone = knownAbsent(req);
  let current = 0;
  const deadline = Date.now() + req.retryMs;
  const backoff = new Backoff({ initialMs: req.firstBackoffMs ?? 250, maxMs: 5000, jitter: 0.5 });
  const giveUp = (why: string | undefined): undefined => {
    gone = true;
    if (why !== undefined) log(`${why}; allocating locally`);
    return undefined;
  };
  return async (busy: number[], preferred: number[]): Promise<number[] | undefined> => {
    if (gone) return undefined;
    const body: Record<string, unknown> = { count: req.count };
    if (busy.length > 0) body.busy = busy;
    if (preferred.length > 0) body.preferred = preferred;
    if (req.pod.container !== "") body.container = req.pod.container;
    if (req.pod.hostIp !== undefined) body.host = req.pod.hostIp;
    let unreachable = 0;
    for (;;) {
      const server = req.pod.servers[current];
      let answer: Answer;
      try {
        const res = await httpRequest({
          method: "POST",
          url: podUrl(server, req.pod, "ports"),
          headers: agentHeaders(req.pod),
          body: JSON.stringify(body),
          timeoutMs: req.timeoutMs,
        });
        unreachable = 0;
        answer = judge(res, req);
      } catch (err) {
        if (!(err instanceof HttpTransportError)) throw err;
        current = (current + 1) % req.pod.servers.length;
        if (++unreachable < req.pod.servers.length) continue;
        return giveUp(`port ledger unreachable (${err.message})`);
      }
      if (answer.kind === "ports") return answer.ports;
      if (answer.kind === "local") return giveUp(answer.why);
      const pause = backoff.next();
      if (Date.now() + pause >= deadline) return giveUp(`port ledger still answers ${answer.why}`);
      log(`port ledger answered ${answer.why}; asking again in ${Math.round(pause)}ms`);
      await sleep(pause);
    }
  };
}
