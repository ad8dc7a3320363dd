// What a deployment's pods run (Kubernetes' pod template): a change to any of
// these fields is a new revision and a rollout; replicas, strategy and the
// rollout settings change in place. The template hash labels each pod
// (podTemplateHash) so a controller tells current pods from old ones, also
// after a rollback that brings back an earlier template.
import { createHash } from "node:crypto";
import type { Deployment } from "./model.js";

export const POD_TEMPLATE_FIELDS = [
  "image",
  "command",
  "networkMode",
  "ports",
  "portNames",
  "templates",
  "accessType",
  "env",
  "readinessProbe",
  "livenessProbe",
] as const satisfies readonly (keyof Deployment)[];

export type PodTemplateField = (typeof POD_TEMPLATE_FIELDS)[number];

/** The pod-template fields of a deployment, those it has only. */
export function podTemplateOf(d: Partial<Deployment>): Partial<Pick<Deployment, PodTemplateField>> {
  const t: Record<string, unknown> = {};
  for (const f of POD_TEMPLATE_FIELDS) if (d[f] !== undefined) t[f] = d[f];
  return t as Partial<Pick<Deployment, PodTemplateField>>;
}

/** The pod-template fields that differ between two deployments. */
export function changedTemplateFields(a: Deployment, b: Deployment): PodTemplateField[] {
  return POD_TEMPLATE_FIELDS.filter((f) => canonical(a[f]) !== canonical(b[f]));
}

/** A short stable digest of the pod template (10 hex digits, like Kubernetes' pod-template-hash). */
export function podTemplateHash(d: Deployment): string {
  return createHash("sha256")
    .update(canonical(podTemplateOf(d)))
    .digest("hex")
    .slice(0, 10);
}

/** JSON with object keys sorted: equal values give equal text whatever their key order. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}
