// Shared by the rollout tests: the deployments admin API as a small client,
// polling without fixed sleeps, and waiting for a rollout's phase.
import type { RolloutStatus } from "../../src/server/deploy/rollout-types.js";

export interface Answer<T> {
  status: number;
  msg: string;
  result: T;
}

/** One call of /api/deployments{path} on the server at `url` (X-DomeOS-User: rollout-test). */
export async function deployApi<T = unknown>(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer<T>> {
  const res = await fetch(`${url}/api/deployments${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "x-domeos-user": "rollout-test",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = (await res.json()) as { resultMsg: string; result: T };
  return { status: res.status, msg: j.resultMsg, result: j.result };
}

/** Poll `fn` every 100 ms until it gives a truthy value (a throw is retried, and named on timeout). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | false | null | undefined>,
  ms = 90_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

/** Wait until deployment default/`name`'s rollout is in `phase` (Failed on the way to another: thrown). */
export function rolloutPhase(
  url: string,
  token: string,
  name: string,
  phase: RolloutStatus["phase"],
  ms = 90_000,
): Promise<RolloutStatus> {
  return until(
    `rollout of ${name} ${phase}`,
    async () => {
      const r = await deployApi<RolloutStatus>(url, token, "GET", `/default/${name}/rollout`);
      if (phase !== "Failed" && r.result.phase === "Failed")
        throw new Error(`rollout failed: ${r.result.reason}`);
      return r.result.phase === phase && r.result;
    },
    ms,
  );
}
