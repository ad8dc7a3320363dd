// One step of a rolling update, decided from the pods as they are now (the
// Kubernetes deployment controller's arithmetic): create pods of the current
// template while the total stays within replicas + maxSurge, and remove old
// pods only while the Ready pods stay at or above replicas - maxUnavailable
// (old pods that are not Ready go first: they serve nothing). The same rules
// scale a deployment that has no old pods. Pure: the controller executes the
// plan, waits for the next pod event and asks again.

export interface PlanPod {
  name: string;
  /** Runs the deployment's current pod template. */
  current: boolean;
  ready: boolean;
  /** creationTimestamp + name: older first. */
  age: string;
}

export interface PlanInput {
  pods: readonly PlanPod[];
  replicas: number;
  maxSurge: number;
  maxUnavailable: number;
}

export interface Plan {
  /** New pods of the current template to create. */
  create: number;
  /** Pods to drain and stop. */
  remove: string[];
}

export function planStep(input: PlanInput): Plan {
  const { replicas: n, maxSurge, maxUnavailable } = input;
  const byAge = [...input.pods].sort((a, b) => a.age.localeCompare(b.age));
  const cur = byAge.filter((p) => p.current);
  const old = byAge.filter((p) => !p.current);
  if (old.length === 0) return scale(cur, n);
  // scaled down mid-rollout: current pods beyond replicas go (not Ready, then newest, first)
  const excess = cur.length > n ? newestFirst(cur).slice(0, cur.length - n) : [];
  const kept = cur.filter((p) => !excess.includes(p));
  const create = Math.max(0, Math.min(n - kept.length, n + maxSurge - (kept.length + old.length)));
  const minAvailable = Math.max(0, n - maxUnavailable);
  const unavailableCur = kept.filter((p) => !p.ready).length;
  let budget = kept.length + old.length - minAvailable - unavailableCur;
  const remove = excess.map((p) => p.name);
  if (budget <= 0) return { create, remove };
  // not Ready old pods first: removing them costs no availability
  for (const p of old.filter((p) => !p.ready)) {
    if (budget <= 0) break;
    remove.push(p.name);
    budget--;
  }
  const readyNow = kept.filter((p) => p.ready).length + old.filter((p) => p.ready).length;
  let spare = Math.min(budget, readyNow - minAvailable);
  for (const p of old.filter((p) => p.ready)) {
    if (spare <= 0) break;
    remove.push(p.name);
    spare--;
  }
  return { create, remove };
}

/** No old pods: create the missing ones or remove the extra ones (not Ready, then newest, first). */
function scale(cur: PlanPod[], n: number): Plan {
  if (cur.length >= n)
    return {
      create: 0,
      remove: newestFirst(cur)
        .slice(0, cur.length - n)
        .map((p) => p.name),
    };
  return { create: n - cur.length, remove: [] };
}

function newestFirst(pods: PlanPod[]): PlanPod[] {
  return [...pods].sort((a, b) =>
    a.ready !== b.ready ? (a.ready ? 1 : -1) : b.age.localeCompare(a.age),
  );
}

/** The rollout is done: only current pods, `replicas` of them, all Ready. */
export function isComplete(input: PlanInput): boolean {
  return input.pods.length === input.replicas && input.pods.every((p) => p.current && p.ready);
}
