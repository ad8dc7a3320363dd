// Why a pod is not serving, as a short list of events (`deploy events`):
// what kubectl describe shows under Events, derived from the pod's stored
// status (the runtime records the last exit and the back-off it is in).
import type { PodSummary } from "./pod-summary.js";

export interface PodEvent {
  pod: string;
  /** When it happened, when known (ISO 8601). */
  time: string;
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export function podEvents(p: PodSummary): PodEvent[] {
  const events: PodEvent[] = [];
  const add = (time: string, type: PodEvent["type"], reason: string, message: string) =>
    events.push({ pod: p.name, time, type, reason, message });
  if (p.createdAt) add(p.createdAt, "Normal", "Scheduled", `on host ${p.host || "?"}`);
  if (p.lastExit) {
    const e = p.lastExit;
    const how = e.signal !== undefined ? `killed by signal ${e.signal}` : `exit code ${e.exitCode}`;
    add(e.finishedAt, "Warning", e.reason || "Exited", `container exited: ${how}`);
  }
  if (p.restarts > 0)
    add("", "Warning", "Restarted", `restarted ${p.restarts} time${p.restarts === 1 ? "" : "s"}`);
  if (p.state === "waiting" && p.reason && p.reason !== "ContainerCreating")
    add("", "Warning", p.reason, p.message || "waiting");
  if (p.terminating) add("", "Normal", "Terminating", "being drained and stopped");
  else if (!p.ready && p.state === "running")
    add("", "Warning", "Unready", "readiness check not passing");
  return events;
}
