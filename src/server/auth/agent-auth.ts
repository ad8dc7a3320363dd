// Who may write a pod's annotations or ask for its ports: the pod itself,
// proven by its pod token or by its deployment's token (see pod-token.ts).
// Unauthenticated requests are accepted only with an explicit opt-in.
import type { IncomingMessage } from "node:http";
import { forbidden, unauthorized } from "../http/errors.js";
import type { Logger } from "../log/logger.js";
import {
  bearerToken,
  DEPLOYMENT_TOKEN_PREFIX,
  mintDeploymentToken,
  mintPodToken,
  tokensEqual,
} from "./pod-token.js";

export interface AgentTarget {
  cluster: string;
  namespace: string;
  pod: string;
}

export interface AgentAuthOptions {
  secret: string;
  allowUnauthenticated: boolean;
  log: Logger;
  /** The pod's deployName annotation (read only for deployment tokens); null if the pod is missing. */
  deployNameOf: () => Promise<string | null>;
}

export type AgentIdentity = "pod" | "deployment" | "anonymous";

export async function authorizeAgent(
  req: IncomingMessage,
  t: AgentTarget,
  o: AgentAuthOptions,
): Promise<AgentIdentity> {
  const token = bearerToken(req.headers.authorization);
  const who = `${t.namespace}/${t.pod} (cluster ${t.cluster})`;
  if (token === null || token === "") {
    if (o.allowUnauthenticated) {
      o.log.warn("unauthenticated agent request accepted (--allow-unauthenticated-agents)", {
        pod: who,
        remote: req.socket.remoteAddress,
      });
      return "anonymous";
    }
    throw unauthorized(
      `pod ${who}: missing credential: send Authorization: Bearer <DOMEOS_AGENT_TOKEN> (the server injects the token into the pod)`,
    );
  }
  if (token.startsWith(DEPLOYMENT_TOKEN_PREFIX)) {
    const deployName = await o.deployNameOf();
    if (deployName) {
      const expected = memo(`d\0${o.secret}\0${t.cluster}/${t.namespace}/${deployName}`, () =>
        mintDeploymentToken(o.secret, t.cluster, t.namespace, deployName),
      );
      if (tokensEqual(token, expected)) return "deployment";
    }
  } else if (
    tokensEqual(
      token,
      memo(`p\0${o.secret}\0${t.cluster}/${t.namespace}/${t.pod}`, () =>
        mintPodToken(o.secret, t.cluster, t.namespace, t.pod),
      ),
    )
  ) {
    return "pod";
  }
  throw forbidden(
    `pod ${who}: the credential is not valid for this pod (a pod may write only its own annotations)`,
  );
}

/**
 * Expected tokens of recently seen pods: an HMAC per request is a visible
 * share of a report's CPU. Bounded; the key includes the secret, so tests
 * with several servers in one process never mix them up.
 */
const expectedTokens = new Map<string, string>();
function memo(key: string, mint: () => string): string {
  let v = expectedTokens.get(key);
  if (v === undefined) {
    v = mint();
    if (expectedTokens.size >= 10_000) expectedTokens.clear();
    expectedTokens.set(key, v);
  }
  return v;
}
