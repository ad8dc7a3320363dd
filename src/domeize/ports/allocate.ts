// AUTO_PORT allocation: scan /proc/net, then reserve under the host-local
// lock (asking the server's ledger first when it has one), every candidate
// confirmed by a bind probe.

import type { EnvConfig, PodIdentity } from "../env.js";
import { trace } from "../trace.js";
import { identityOf } from "./identity.js";
import type { PortsInUse } from "./procnet.js";
import { type Reserved, reserve } from "./reservation.js";
import { ledgerProposer } from "./server.js";

export interface AllocateOptions {
  readonly env: EnvConfig;
  readonly pod: PodIdentity;
  /** pid of the process that will become the app (the launcher's, in exec mode). */
  readonly ownerPid: number;
  readonly requestTimeoutMs: number;
  /** How long the ledger's 409 and 5xx answers are retried. */
  readonly ledgerRetryMs: number;
  readonly leaseTtlMs: number;
  readonly useLedger: boolean;
  /** Ports in use, from a /proc/net scan started earlier. */
  readonly inUse: Promise<PortsInUse>;
}

export function leaseKey(pod: PodIdentity): string {
  return [pod.cluster, pod.namespace, pod.pod, pod.container || "_"].join("~");
}

export async function allocatePorts(o: AllocateOptions): Promise<Reserved> {
  const { env, pod } = o;
  const propose = o.useLedger
    ? ledgerProposer({
        pod,
        count: env.needPorts,
        start: env.rangeStart,
        end: env.rangeEnd,
        timeoutMs: o.requestTimeoutMs,
        stateDir: env.stateDir,
        retryMs: o.ledgerRetryMs,
      })
    : undefined;
  const inUse = await o.inUse;
  trace("proc/net scanned");
  return reserve({
    stateDir: env.stateDir,
    key: leaseKey(pod),
    count: env.needPorts,
    start: env.rangeStart,
    end: env.rangeEnd,
    owner: identityOf(o.ownerPid),
    inUse,
    leaseTtlMs: o.leaseTtlMs,
    propose,
  });
}
