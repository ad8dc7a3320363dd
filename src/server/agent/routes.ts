// The agent API: what domeize (and the original agents) call.
//   PUT  /api/agent/pod/{cluster}/{ns}/{pod}/annotation   compatible report
//   POST /api/agent/pod/{cluster}/{ns}/{pod}/ports        port ledger
//   POST /api/agent/pod/{cluster}/{ns}/{pod}/token        deployment token -> the pod's own (token-exchange.ts)

import { podKey } from "../../store/store.js";
import { type AgentIdentity, authorizeAgent } from "../auth/agent-auth.js";
import type { Cluster, ClusterRegistry } from "../cluster/registry.js";
import { parseJsonObject, readBody } from "../http/body.js";
import { badRequest, conflict, forbidden } from "../http/errors.js";
import { requireClusterName, requireLabel, requirePodName } from "../http/names.js";
import { sendOk } from "../http/respond.js";
import type { RequestContext, Router } from "../http/router.js";
import type { Logger } from "../log/logger.js";
import { type AnnotationPolicy, validateAnnotationPatch } from "./annotation-policy.js";
import type { KnownHosts } from "./known-hosts.js";
import { podFacts, readPodFacts } from "./pod-object.js";
import { podQuota, type QuotaSettings } from "./pod-quota.js";
import { parsePortsRequest } from "./ports-request.js";
import type { PodRateLimiter } from "./rate-limit.js";
import { checkReportedPorts, reportedPorts } from "./reported-ports.js";
import { exchangeForPodToken, parseExchangeBody } from "./token-exchange.js";

export interface AgentDeps {
  clusters: ClusterRegistry;
  secret: string;
  allowUnauthenticated: boolean;
  policy: AnnotationPolicy;
  bodyLimit: number;
  log: Logger;
  quota: QuotaSettings;
  knownHosts: KnownHosts;
  rateLimit: PodRateLimiter;
}

const BASE = "/api/agent/pod/:cluster/:ns/:pod";

export function addAgentRoutes(router: Router, deps: AgentDeps): void {
  router.add("PUT", `${BASE}/annotation`, "agent_annotation", (ctx) => putAnnotation(ctx, deps));
  router.add("POST", `${BASE}/ports`, "agent_ports", (ctx) => postPorts(ctx, deps));
  router.add("POST", `${BASE}/token`, "agent_token", (ctx) => postToken(ctx, deps));
}

interface Target {
  cluster: Cluster;
  ns: string;
  pod: string;
  identity: AgentIdentity;
}

/** Names, cluster and credential, checked before the body is read. */
async function target(
  ctx: RequestContext,
  deps: AgentDeps,
  purpose: "write" | "exchange" = "write",
): Promise<Target> {
  const { params } = ctx;
  requireClusterName("cluster name", params.cluster!);
  const ns = requireLabel("namespace", params.ns!);
  const pod = requirePodName("pod name", params.pod!);
  const cluster = deps.clusters.get(params.cluster!);
  const identity = await authorizeAgent(
    ctx.req,
    { cluster: cluster.name, namespace: ns, pod },
    {
      secret: deps.secret,
      allowUnauthenticated: deps.allowUnauthenticated,
      log: deps.log,
      purpose,
      deployNameOf: async () => {
        const kv = await cluster.store.get(podKey(ns, pod));
        return kv ? (podFacts(kv.value).deployName ?? null) : null;
      },
      uidOf: async (fresh) => {
        const cached = fresh ? undefined : cluster.annotator.cachedUid(ns, pod);
        if (cached !== undefined) return cached;
        const kv = await cluster.store.get(podKey(ns, pod));
        return kv ? (podFacts(kv.value).uid ?? "") : null;
      },
    },
  );
  deps.rateLimit.take(`${cluster.name}/${ns}/${pod}`);
  return { cluster, ns, pod, identity };
}

async function putAnnotation(ctx: RequestContext, deps: AgentDeps): Promise<void> {
  const t = await target(ctx, deps);
  const body = parseJsonObject(await readBody(ctx.req, deps.bodyLimit));
  const patch = validateAnnotationPatch(body, deps.policy);
  await checkReportedPorts(t, reportedPorts(patch), deps.quota);
  if (Object.keys(patch).length > 0)
    await t.cluster.annotator.merge(t.ns, t.pod, patch, t.identity.uid);
  sendOk(ctx.res);
}

async function postToken(ctx: RequestContext, deps: AgentDeps): Promise<void> {
  const t = await target(ctx, deps, "exchange");
  if (t.identity.kind !== "deployment" || t.identity.deployName === undefined) {
    throw badRequest(
      "only a deployment token is exchanged here (a pod token is already the pod's own)",
    );
  }
  const uid = parseExchangeBody(parseJsonObject(await readBody(ctx.req, deps.bodyLimit)));
  const out = await exchangeForPodToken(t, t.identity.deployName, uid, deps.secret);
  deps.log.info("pod token issued for a deployment token", {
    cluster: t.cluster.name,
    pod: `${t.ns}/${t.pod}`,
    deployment: t.identity.deployName,
    uid,
  });
  sendOk(ctx.res, out);
}

async function postPorts(ctx: RequestContext, deps: AgentDeps): Promise<void> {
  const t = await target(ctx, deps);
  const body = parseJsonObject(await readBody(ctx.req, deps.bodyLimit));
  const req = parsePortsRequest(body, deps.policy.portRange);
  const facts = await readPodFacts(t.cluster.store, t.cluster.name, t.ns, t.pod);
  if (t.identity.uid !== undefined && facts.uid !== t.identity.uid) {
    throw forbidden(
      `pod ${t.ns}/${t.pod} is another instance now (uid ${facts.uid ?? "none"}): the credential belongs to the pod of uid ${t.identity.uid}, which was deleted`,
    );
  }
  const host = await requestHost(t, facts.hostIP, req.host, deps);
  const ports = await t.cluster.ledger.allocate({
    cluster: t.cluster.name,
    namespace: t.ns,
    pod: t.pod,
    container: req.container,
    host,
    podUid: facts.uid,
    count: req.count,
    busy: req.busy,
    preferred: req.preferred,
    quota: await podQuota(t.cluster, t.ns, facts, deps.quota),
  });
  sendOk(ctx.res, { ports, host });
}

/** The host whose ledger serves the request: the pod's, or a known one it names. */
async function requestHost(
  t: Target,
  hostIP: string | undefined,
  named: string | undefined,
  deps: AgentDeps,
): Promise<string> {
  if (hostIP) {
    if (named && named !== hostIP)
      throw badRequest(`host ${named} does not match the pod's status.hostIP ${hostIP}`);
    return hostIP;
  }
  if (!named)
    throw conflict(`pod ${t.ns}/${t.pod} has no status.hostIP yet and the request names no host`);
  if (!(await deps.knownHosts.has(t.cluster.store, named))) {
    throw badRequest(
      `host ${named} is not a host of cluster ${t.cluster.name} (no pod runs there): a pod without status.hostIP may name only a known host`,
    );
  }
  return named;
}
