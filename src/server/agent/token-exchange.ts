// POST /api/agent/pod/{cluster}/{ns}/{pod}/token {"uid": "<MY_POD_UID>"}
// with `Authorization: Bearer <deployment token>`: the pod's own credential,
// bound to its UID, for a pod that proves who it is. Like Kubernetes' bound
// service-account tokens (TokenRequest bound to a Pod): the server reads the
// pod from the pod store and answers only when the named pod exists, belongs
// to the token's deployment (deployment tokens are checked against the pod's
// deployName annotation in agent-auth.ts) and has that UID (the downward
// API's metadata.uid, which domeize gets as MY_POD_UID). The answer is an
// instance token (pod-token.ts): it writes only that pod instance, so neither
// another deployment's pods nor a deleted pod's successor of the same name
// accept it. The deployment token itself writes nothing (agent-auth.ts).
import type { Store } from "../../store/store.js";
import { mintInstanceToken } from "../auth/pod-token.js";
import { badRequest, forbidden, notFound } from "../http/errors.js";
import { readPodFacts } from "./pod-object.js";

export interface ExchangeTarget {
  cluster: { name: string; store: Store };
  ns: string;
  pod: string;
}

/** The body's uid: what the pod says its metadata.uid is. */
export function parseExchangeBody(body: Record<string, unknown>): string {
  for (const k of Object.keys(body)) {
    if (k !== "uid") throw badRequest(`unknown field ${JSON.stringify(k)}; expected uid`);
  }
  const { uid } = body;
  if (typeof uid !== "string" || !/^[\x21-\x7e]{1,256}$/.test(uid)) {
    throw badRequest(
      `uid ${JSON.stringify(uid)} must be the pod's metadata.uid (MY_POD_UID from the downward API)`,
    );
  }
  return uid;
}

/** The instance token of the pod, once the pod store confirms the pod has this UID. */
export async function exchangeForPodToken(
  t: ExchangeTarget,
  deployName: string,
  uid: string,
  secret: string,
): Promise<{ token: string; uid: string }> {
  // read fresh from the pod store: a cached object could be of a deleted pod
  const facts = await readPodFacts(t.cluster.store, t.cluster.name, t.ns, t.pod);
  if (facts.uid === undefined)
    throw notFound(`pod ${t.ns}/${t.pod} not found in cluster ${t.cluster.name}`);
  if (facts.deployName !== deployName) {
    throw forbidden(
      `pod ${t.ns}/${t.pod} is not a pod of deployment ${deployName} (any more); no token`,
    );
  }
  if (facts.uid !== uid) {
    throw forbidden(
      `pod ${t.ns}/${t.pod}: uid ${uid} is not this pod's (it is another instance now, or the caller is another pod); no token`,
    );
  }
  return { token: mintInstanceToken(secret, t.cluster.name, t.ns, t.pod, uid), uid };
}
