// Client of the server's per-host port ledger (POST .../ports, see
// docs/ports-ledger.md). Any failure returns undefined and domeize falls
// back to the host-local reservation; a 404 means a server without the
// endpoint, so it is not asked again.

import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import type { PodIdentity } from "../env.js";
import { HttpTransportError, httpRequest } from "../http.js";
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
      readFileSync(absentFile(req), "utf8") === req.pod.server
    );
  } catch {
    return false;
  }
}

function rememberAbsent(req: LedgerRequest): void {
  try {
    const tmp = `${absentFile(req)}.${process.pid}`;
    writeFileSync(tmp, req.pod.server, { mode: 0o666 });
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

export function ledgerProposer(req: LedgerRequest) {
  let gone = knownAbsent(req);
  return async (busy: number[], preferred: number[]): Promise<number[] | undefined> => {
    if (gone) return undefined;
    const body: Record<string, unknown> = { count: req.count };
    if (busy.length > 0) body.busy = busy;
    if (preferred.length > 0) body.preferred = preferred;
    if (req.pod.container !== "") body.container = req.pod.container;
    try {
      const res = await httpRequest({
        method: "POST",
        url: podUrl(req.pod, "ports"),
        headers: agentHeaders(req.pod),
        body: JSON.stringify(body),
        timeoutMs: req.timeoutMs,
      });
      if (res.status === 404) {
        gone = true;
        // No DomeOS envelope: an old server without the endpoint (remember
        // that); with one: this pod is not known yet, allocate locally.
        if (resultCode(res.body)?.code === undefined) rememberAbsent(req);
        else log(`port ledger: ${res.body.slice(0, 120)}; allocating locally`);
        return undefined;
      }
      const rc = resultCode(res.body);
      const ports = res.status === 200 && rc?.code === 200 ? parsePorts(res.body, req) : undefined;
      if (ports === undefined) {
        gone = true;
        log(
          `port ledger answered HTTP ${res.status} ${res.body.slice(0, 120)}; allocating locally`,
        );
      }
      return ports;
    } catch (err) {
      if (!(err instanceof HttpTransportError)) throw err;
      gone = true;
      log(`port ledger unreachable (${err.message}); allocating locally`);
      return undefined;
    }
  };
}
