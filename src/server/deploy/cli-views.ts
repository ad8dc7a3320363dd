// How the deploy CLI prints what the admin API returns: tables for people,
// JSON or YAML (-o) for scripts.
import { stringify as toYaml } from "yaml";
import { age, table } from "./cli-table.js";
import type { Deployment } from "./model.js";
import type { PodEvent } from "./pod-events.js";
import type { PodSummary } from "./pod-summary.js";
import type { RevisionRecord, RolloutStatus } from "./rollout-types.js";

export type OutputFormat = "table" | "json" | "yaml";

export function formatData(data: unknown, format: "json" | "yaml"): string {
  return format === "json" ? `${JSON.stringify(data, null, 2)}\n` : toYaml(data);
}

/** The ports column: AUTO_PORT0=20001,AUTO_PORT1=20002 shown as 20001,20002. */
function ports(p: PodSummary): string {
  const entries = Object.entries(p.ports).sort(([a], [b]) => portOrder(a) - portOrder(b));
  return (
    entries
      .map(([k, v]) =>
        /^AUTO_PORT\d+$/.test(k) ? v : `${k.slice("AUTO_PORT_".length).toLowerCase()}=${v}`,
      )
      .join(",") || "-"
  );
}

function portOrder(k: string): number {
  const m = /^AUTO_PORT(\d+)$/.exec(k);
  return m ? Number(m[1]) : 1e6;
}

/** STATUS as kubectl shows it: the waiting reason (CrashLoopBackOff) beats the phase. */
export function podStatus(p: PodSummary): string {
  if (p.terminating) return "Terminating";
  if (p.state === "waiting" && p.reason) return p.reason;
  if (p.state === "terminated") return p.reason || "Terminated";
  return p.phase;
}

export function deploymentsTable(
  deployments: Deployment[],
  pods: Map<string, PodSummary[]>,
  now = Date.now(),
): string {
  if (deployments.length === 0) return "No deployments.\n";
  return table(
    ["NAMESPACE", "NAME", "READY", "RESTARTS", "PORTS", "NETWORK", "AGE"],
    deployments.map((d) => {
      const ps = pods.get(`${d.namespace}/${d.name}`) ?? [];
      return [
        d.namespace,
        d.name,
        `${ps.filter((p) => p.ready).length}/${d.replicas}`,
        String(ps.reduce((n, p) => n + p.restarts, 0)),
        String(d.ports),
        d.networkMode,
        age(d.createdAt ?? "", now),
      ];
    }),
  );
}

export function statusView(
  d: Deployment,
  pods: PodSummary[],
  rollout?: RolloutStatus,
  now = Date.now(),
): string {
  const ready = pods.filter((p) => p.ready).length;
  const head = [
    `Deployment: ${d.namespace}/${d.name} (cluster ${d.cluster})`,
    `Replicas:   ${ready}/${d.replicas} ready, ${pods.length} pods`,
    ...(rollout ? [`Rollout:    ${rolloutLine(rollout)}`] : []),
    `Network:    ${d.networkMode}, ${d.ports} port${d.ports === 1 ? "" : "s"} per pod`,
    `Command:    ${d.command?.join(" ") ?? d.image ?? ""}`,
  ].join("\n");
  if (pods.length === 0) return `${head}\n\nNo pods.\n`;
  return `${head}\n\n${podsTable(pods, now)}`;
}

export function podsTable(pods: PodSummary[], now = Date.now()): string {
  return table(
    ["POD", "READY", "STATUS", "RESTARTS", "PORTS", "HOST", "AGE", "REVISION", "LAST EXIT"],
    pods.map((p) => [
      p.name,
      p.ready ? "1/1" : "0/1",
      podStatus(p),
      String(p.restarts),
      ports(p),
      p.host || "-",
      age(p.createdAt, now),
      p.revision || "-", // the podRevision label rollouts set; "-" for pods without one
      p.lastExit
        ? p.lastExit.signal !== undefined
          ? `signal ${p.lastExit.signal}`
          : `code ${p.lastExit.exitCode}`
        : "-",
    ]),
  );
}

export function eventsTable(events: PodEvent[], now = Date.now()): string {
  if (events.length === 0) return "No events.\n";
  return table(
    ["AGE", "TYPE", "REASON", "POD", "MESSAGE"],
    events.map((e) => [age(e.time, now) || "-", e.type, e.reason, e.pod, e.message]),
  );
}

/** One line of rollout progress: "revision 3 Progressing: 2/3 updated, 1 ready, 3 available, 1 old pod left". */
export function rolloutLine(s: RolloutStatus): string {
  const old = `${s.oldPods} old pod${s.oldPods === 1 ? "" : "s"} left`;
  const counts = `${s.updated}/${s.desired} updated, ${s.ready} ready, ${s.available} available, ${old}`;
  return `revision ${s.revision} ${s.phase}: ${counts}${s.reason ? ` (${s.reason})` : ""}`;
}

/** `deploy history`: one row per kept revision, the current one marked. */
export function historyTable(records: RevisionRecord[], current: number, now = Date.now()): string {
  if (records.length === 0) return "No revisions.\n";
  return table(
    ["REVISION", "AGE", "BY", "CAUSE", "WHAT RAN"],
    records.map((r) => [
      `${r.revision}${r.revision === current ? " *" : ""}`,
      age(r.createdAt, now) || "-",
      r.by ?? "-",
      r.cause ?? "-",
      summary(r),
    ]),
  );
}

/** The command (or image) and env of a revision, shortened. */
function summary(r: RevisionRecord): string {
  const what = r.spec.command?.join(" ") ?? r.spec.image ?? "";
  const env = Object.entries(r.spec.env ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const text = env ? `${what} [${env}]` : what;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
