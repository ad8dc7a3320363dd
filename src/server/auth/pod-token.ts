// Pod credentials: HMAC-SHA256 under the server secret, so the server keeps
// no token table and any replica sharing the secret can verify.
//
// - Instance token: "pod." + expiry + "." + hex HMAC of
//   "pod:{cluster}/{namespace}/{pod}/{uid}/{expiry}": bound to one pod
//   instance (its metadata.uid), so a later pod of the same name cannot use
//   it; expiry is unix seconds, 0 for none. Used when the pod's UID is known
//   before it starts (the standalone runtime creates the UID).
// - Legacy pod token: hex HMAC of "{cluster}/{namespace}/{pod}", bound to
//   the name only; accepted only with --allow-unauthenticated-agents.
// - Deployment token: "dpl." + hex HMAC of "deployment:{cluster}/{namespace}/{deployName}".
//   Kubernetes names pods after creation, so a Deployment's pods share one
//   token; the server accepts it only for pods of that namespace whose
//   `deployName` annotation equals the deployment's name (see docs/server.md).
import { createHmac, timingSafeEqual } from "node:crypto";

export const DEPLOYMENT_TOKEN_PREFIX = "dpl.";
export const INSTANCE_TOKEN_PREFIX = "pod.";

/** The legacy name-bound pod token (accepted only with --allow-unauthenticated-agents). */
export function mintPodToken(secret: string, cluster: string, ns: string, pod: string): string {
  return hmacHex(secret, `${cluster}/${ns}/${pod}`);
}

/** A token bound to the pod instance (UID); `expiresAt` in unix seconds, 0 = never. */
export function mintInstanceToken(
  secret: string,
  cluster: string,
  ns: string,
  pod: string,
  uid: string,
  expiresAt = 0,
): string {
  const exp = Math.max(0, Math.floor(expiresAt));
  return `${INSTANCE_TOKEN_PREFIX}${exp}.${hmacHex(secret, `pod:${cluster}/${ns}/${pod}/${uid}/${exp}`)}`;
}

/** The expiry of an instance token (unix seconds, 0 = none), or null when it is not one. */
export function instanceTokenExpiry(token: string): number | null {
  const m = /^pod\.(0|[1-9][0-9]{0,11})\.[0-9a-f]{64}$/.exec(token);
  return m ? Number(m[1]) : null;
}

export function mintDeploymentToken(
  secret: string,
  cluster: string,
  ns: string,
  deployName: string,
): string {
  return DEPLOYMENT_TOKEN_PREFIX + hmacHex(secret, `deployment:${cluster}/${ns}/${deployName}`);
}

function hmacHex(secret: string, message: string): string {
  return createHmac("sha256", secret).update(message).digest("hex");
}

/**
 * Constant-time comparison. Only the length may leak, and the length of a
 * token is public (64 hex digits, or "dpl." + 64).
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or null when absent. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : "";
}
