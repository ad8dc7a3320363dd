// Reports checked against the ledger: every AUTO_PORT* value an agent writes
// must be a port the ledger holds for its pod, or a free one the ledger can
// take for it now (docs/ports-ledger.md, "Reports").
import type { Cluster } from "../cluster/registry.js";
import { conflict } from "../http/errors.js";
import { readPodFacts } from "./pod-object.js";
import { podQuota, type QuotaSettings } from "./pod-quota.js";

const PORT_KEY = /^AUTO_PORT(0|[1-9][0-9]*)(?:[_.](.+))?$/;
const PORTS_KEY = /^AUTO_PORTS(?:[_.](.+))?$/;

/** container -> (AUTO_PORT index -> port) of a validated annotation patch. */
export function reportedPorts(patch: Record<string, string>): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  const at = (container: string) => {
    let m = out.get(container);
    if (!m) {
      m = new Map();
      out.set(container, m);
    }
    return m;
  };
  for (const [k, v] of Object.entries(patch)) {
    let m = PORT_KEY.exec(k);
    if (m) {
      at(m[2] ?? "").set(Number(m[1]), Number(v));
      continue;
    }
    m = PORTS_KEY.exec(k);
    if (m) {
      const c = at(m[1] ?? "");
      v.split(",").forEach((p, i) => {
        if (!c.has(i)) c.set(i, Number(p));
      });
    }
  }
  return out;
}

export interface ReportTarget {
  cluster: Cluster;
  ns: string;
  pod: string;
}

/** Throws 409 naming the holder when a reported port is someone else's. */
export async function checkReportedPorts(
  t: ReportTarget,
  claims: Map<string, Map<number, number>>,
  quota: QuotaSettings,
): Promise<void> {
  if (claims.size === 0) return;
  const ledger = t.cluster.ledger;
  const isHeld = (held: Set<number>) =>
    [...claims.values()].every((m) => [...m.values()].every((p) => held.has(p)));
  if (isHeld(await ledger.held.of(t.ns, t.pod))) return;
  const facts = await readPodFacts(t.cluster.store, t.cluster.name, t.ns, t.pod);
  if (!facts.hostIP) {
    throw conflict(
      `pod ${t.ns}/${t.pod} has no status.hostIP, so its reported ports cannot be checked against a host's ledger; ask POST .../ports for them`,
    );
  }
  const limit = await podQuota(t.cluster, t.ns, facts, quota);
  for (const [container, ports] of claims) {
    await ledger.claimReported({
      cluster: t.cluster.name,
      namespace: t.ns,
      pod: t.pod,
      container,
      host: facts.hostIP,
      podUid: facts.uid,
      quota: limit,
      ports,
    });
  }
}
