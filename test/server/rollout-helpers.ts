// Shared by the rollout tests: the deployments admin API as a small client,
// and waiting for a rollout's phase (polling: helpers.until).
import type { RolloutStatus } from "../../src/server/deploy/rollout-types.js";
import { until } from "./helpers.js";

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
