// Pod credentials: HMAC-SHA256 under the server secret, so the server keeps
// no token table and any replica sharing the secret can verify.
//
// - Pod token: hex HMAC of "{cluster}/{namespace}/{pod}". Used when the pod
//   name is known before the pod starts (standalone runtime, tests).
// - Deployment token: "dpl." + hex HMAC of "deployment:{cluster}/{namespace}/{deployName}".
//   Kubernetes names pods after creation, so a Deployment's pods share one
//   token; the server accepts it only for pods of that namespace whose
//   `deployName` annotation equals the deployment's name (see docs/server.md).
import { createHmac, timingSafeEqual } from "node:crypto";

export const DEPLOYMENT_TOKEN_PREFIX = "dpl.";

export function mintPodToken(secret: string, cluster: string, ns: string, pod: string): string {
  return hmacHex(secret, `${cluster}/${ns}/${pod}`);
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
