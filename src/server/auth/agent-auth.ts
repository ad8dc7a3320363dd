// Who may write a pod's annotations or ask for its ports: the pod itself,
// proven by its instance token (bound to its UID). A deployment's token
// (Kubernetes pods, named only once created) proves only "a pod of this
// deployment": it is exchanged for the pod's instance token by a pod that
// names its own UID (POST .../token, token-exchange.ts), as Kubernetes
// exchanges a service account for a token bound to the pod; it writes
// nothing itself. Unauthenticated requests, deployment tokens used directly
// and the legacy tokens bound only to the pod's name are accepted only with
// an explicit opt-in (--allow-unauthenticated-agents).
import type { IncomingMessage } from "node:http";
import { forbidden, notFound, unauthorized } from "../http/errors.js";
import type { Logger } from "../log/logger.js";
import {
  bearerToken,
  DEPLOYMENT_TOKEN_PREFIX,
  INSTANCE_TOKEN_PREFIX,
  instanceTokenExpiry,
  mintDeploymentToken,
  mintInstanceToken,
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
  /**
   * The pod's metadata.uid (null if the pod is missing); `fresh` asks for a
   * store read instead of a cached value.
   */
  uidOf: (fresh: boolean) => Promise<string | null>;
  /** Unix seconds (tests). */
  now?: () => number;
  /** "exchange": the token route, where a deployment token is what is asked for. Default "write". */
  purpose?: "write" | "exchange";
}

export interface AgentIdentity {
  kind: "pod" | "deployment" | "legacy" | "anonymous";
  /** The pod instance an instance token is bound to: writes must reach this UID only. */
  uid?: string;
  /** The deployment a deployment token is of. */
  deployName?: string;
}

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
      return { kind: "anonymous" };
    }
    throw unauthorized(
      `pod ${who}: missing credential: send Authorization: Bearer <DOMEOS_AGENT_TOKEN> (the server injects the token into the pod)`,
    );
  }
  if (token.startsWith(INSTANCE_TOKEN_PREFIX)) return instance(token, t, who, o);
  if (token.startsWith(DEPLOYMENT_TOKEN_PREFIX)) {
    const deployName = await o.deployNameOf();
    if (deployName) {
      const expected = memo(`d\0${o.secret}\0${t.cluster}/${t.namespace}/${deployName}`, () =>
        mintDeploymentToken(o.secret, t.cluster, t.namespace, deployName),
      );
      if (tokensEqual(token, expected)) return deploymentIdentity(t, who, deployName, o);
    }
  } else if (
    tokensEqual(
      token,
      memo(`p\0${o.secret}\0${t.cluster}/${t.namespace}/${t.pod}`, () =>
        mintPodToken(o.secret, t.cluster, t.namespace, t.pod),
      ),
    )
  ) {
    if (o.allowUnauthenticated) {
      o.log.warn(
        "legacy pod token (bound to the name only) accepted (--allow-unauthenticated-agents)",
        {
          pod: who,
        },
      );
      return { kind: "legacy" };
    }
    throw forbidden(
      `pod ${who}: this token is bound to the pod's name only and is refused (a later pod of the same name could use it); use a token bound to the pod's UID (domeos-server token --pod NS/NAME --uid UID), or --allow-unauthenticated-agents during a migration`,
    );
  }
  throw forbidden(
    `pod ${who}: the credential is not valid for this pod (a pod may write only its own annotations)`,
  );
}

/** A valid deployment token: for the exchange, or (opt-in) for old agents that write with it. */
function deploymentIdentity(
  t: AgentTarget,
  who: string,
  deployName: string,
  o: AgentAuthOptions,
): AgentIdentity {
  if (o.purpose === "exchange") return { kind: "deployment", deployName };
  if (o.allowUnauthenticated) {
    o.log.warn(
      "deployment token used to write directly (not bound to the pod) accepted (--allow-unauthenticated-agents)",
      { pod: who },
    );
    return { kind: "deployment", deployName };
  }
  throw forbidden(
    `pod ${who}: a deployment token only proves the pod belongs to its deployment and writes nothing itself: exchange it for the pod's own token (POST /api/agent/pod/${t.cluster}/${t.namespace}/${t.pod}/token {"uid": MY_POD_UID}; domeize does this), or --allow-unauthenticated-agents for agents that cannot`,
  );
}

async function instance(
  token: string,
  t: AgentTarget,
  who: string,
  o: AgentAuthOptions,
): Promise<AgentIdentity> {
  const exp = instanceTokenExpiry(token);
  if (exp === null) throw forbidden(`pod ${who}: malformed pod token`);
  const now = o.now?.() ?? Math.floor(Date.now() / 1000);
  if (exp !== 0 && exp <= now) {
    throw unauthorized(
      `pod ${who}: the pod token expired at ${new Date(exp * 1000).toISOString()}; the runtime must give the pod a new one`,
    );
  }
  // The cached UID first; a mismatch may only mean the cache is stale.
  for (const fresh of [false, true]) {
    const uid = await o.uidOf(fresh);
    if (uid === null)
      throw notFound(`pod ${t.namespace}/${t.pod} not found in cluster ${t.cluster}`);
    const expected = memo(
      `i\0${o.secret}\0${t.cluster}/${t.namespace}/${t.pod}/${uid}/${exp}`,
      () => mintInstanceToken(o.secret, t.cluster, t.namespace, t.pod, uid, exp),
    );
    if (tokensEqual(token, expected)) return { kind: "pod", uid };
  }
  throw forbidden(
    `pod ${who}: the pod token is not valid for this pod (a token of an earlier pod of the same name, or of another pod)`,
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
