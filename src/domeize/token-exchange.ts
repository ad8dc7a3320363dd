// A deployment token (Kubernetes pods: "dpl." + HMAC, shared by the
// Deployment's pods) writes nothing on the server: domeize exchanges it once,
// before its first ledger or report request, for the pod's own token bound
// to its UID: POST .../token {"uid": MY_POD_UID} (the server checks the UID
// against the pod store; docs/server.md, Credentials). Retried like the
// report (5xx, 408, 429, connection errors: the next server, then backoff,
// until the deadline). A server without the route (404 without a DomeOS
// answer) gets the deployment token as before.

import { Backoff } from "../retry/backoff.js";
import type { PodIdentity } from "./env.js";
import { EXIT, fail } from "./exit.js";
import { HttpTransportError, httpRequest } from "./http.js";
import { log } from "./log.js";
import { agentHeaders, podUrl, resultCode } from "./report.js";

export const DEPLOYMENT_TOKEN_PREFIX = "dpl.";

interface Exchanged {
  token?: string;
  retry: boolean;
  error?: string;
}

/** The pod with its own UID-bound token in place of a deployment token; others unchanged. */
export async function boundPod(
  pod: PodIdentity,
  timing: { requestTimeoutMs: number; deadlineMs: number },
): Promise<PodIdentity> {
  if (pod.token === undefined || !pod.token.startsWith(DEPLOYMENT_TOKEN_PREFIX)) return pod;
  if (pod.uid === undefined) {
    log(
      "DOMEOS_AGENT_TOKEN is a deployment token but MY_POD_UID is not set (downward API metadata.uid): it is sent as is, and a server that binds tokens to pods refuses it",
    );
    return pod;
  }
  const body = JSON.stringify({ uid: pod.uid });
  const deadline = Date.now() + timing.deadlineMs;
  const backoff = new Backoff({ initialMs: 250, maxMs: 5000, jitter: 0.5 });
  for (let attempt = 1; ; attempt++) {
    const server = pod.servers[(attempt - 1) % pod.servers.length] as string;
    const url = podUrl(server, pod, "token");
    const got = await exchangeOnce(pod, url, body, timing.requestTimeoutMs, deadline);
    if (got.token !== undefined) return got.token === "" ? pod : { ...pod, token: got.token };
    if (!got.retry || Date.now() >= deadline) {
      fail(EXIT.report, `cannot exchange the deployment token at ${url}: ${got.error}`);
    }
    if (attempt % pod.servers.length === 0) {
      const pause = backoff.next();
      log(
        `token exchange attempt ${attempt} failed: ${got.error}; retrying in ${Math.round(pause)}ms`,
      );
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** One request: the token, "" for a server without the route, or why not. */
async function exchangeOnce(
  pod: PodIdentity,
  url: string,
  body: string,
  timeoutMs: number,
  deadline: number,
): Promise<Exchanged> {
  let res: Awaited<ReturnType<typeof httpRequest>>;
  try {
    res = await httpRequest({
      method: "POST",
      url,
      headers: agentHeaders(pod),
      body,
      timeoutMs: Math.max(1, Math.min(timeoutMs, deadline - Date.now())),
    });
  } catch (err) {
    if (!(err instanceof HttpTransportError)) throw err;
    return { retry: true, error: err.message };
  }
  const rc = resultCode(res.body);
  const text = res.body.length > 200 ? `${res.body.slice(0, 200)}...` : res.body;
  // an older server without the route: the deployment token as before
  if (res.status === 404 && (rc?.code === undefined || rc.msg.startsWith("no such endpoint")))
    return { token: "", retry: false };
  // the pod object not readable yet
  if (res.status === 404) return { retry: true, error: `HTTP 404: ${text}` };
  if (res.status >= 500 || res.status === 408 || res.status === 429)
    return { retry: true, error: `HTTP ${res.status}: ${text}` };
  if (res.status !== 200 || rc?.code !== 200)
    return { retry: false, error: `HTTP ${res.status}: ${text}` };
  const token = tokenOf(res.body);
  return token !== undefined
    ? { token, retry: false }
    : { retry: false, error: `no token in the answer: ${text}` };
}

function tokenOf(body: string): string | undefined {
  try {
    const t = (JSON.parse(body) as { result?: { token?: unknown } }).result?.token;
    return typeof t === "string" && /^[\x21-\x7e]+$/.test(t) ? t : undefined;
  } catch {
    return undefined;
  }
}
