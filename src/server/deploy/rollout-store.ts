// A deployment's revision history and the state of its latest rollout, in
// the cluster's store beside the deployment (etcd or embedded):
//
//   /domeos/revisions/{ns}/{name}/{revision, 10 digits}   RevisionRecord (spec, when, by, cause)
//   /domeos/rollouts/{ns}/{name}                          RolloutRecord (revision, phase, reason)
//
// The record is what lets a restarted server resume a rollout instead of
// starting over, and keeps a Failed rollout failed until someone acts.
import type { Store } from "../../store/store.js";
import type { Deployment } from "./model.js";
import type { DeploymentSpec, RevisionRecord, RolloutPhase } from "./rollout-types.js";

export const REVISION_PREFIX = "/domeos/revisions/";
export const ROLLOUT_PREFIX = "/domeos/rollouts/";

const revisionsOf = (ns: string, name: string) => `${REVISION_PREFIX}${ns}/${name}/`;
const revisionKey = (ns: string, name: string, revision: number) =>
  `${revisionsOf(ns, name)}${String(revision).padStart(10, "0")}`;
export const rolloutKey = (ns: string, name: string) => `${ROLLOUT_PREFIX}${ns}/${name}`;

/** The latest rollout as the controller left it (counts come from the pods when asked). */
export interface RolloutRecord {
  revision: number;
  phase: RolloutPhase;
  reason?: string;
  startedAt: string;
  finishedAt?: string;
}

/** What a revision ran: the deployment without its scale, timestamps and revision number. */
export function specOf(d: Deployment): DeploymentSpec {
  const { replicas: _r, createdAt: _c, updatedAt: _u, revision: _n, ...spec } = d;
  return spec;
}

export class RevisionHistory {
  constructor(private readonly store: Store) {}

  /** Every kept revision, oldest first. */
  async list(ns: string, name: string): Promise<RevisionRecord[]> {
    const r = await this.store.list(revisionsOf(ns, name));
    const out: RevisionRecord[] = [];
    for (const kv of r.kvs) {
      try {
        out.push(JSON.parse(kv.value) as RevisionRecord);
      } catch {
        // an unreadable record is left out of the history, not fatal to it
      }
    }
    return out.sort((a, b) => a.revision - b.revision);
  }

  async get(ns: string, name: string, revision: number): Promise<RevisionRecord | null> {
    const kv = await this.store.get(revisionKey(ns, name, revision));
    return kv ? (JSON.parse(kv.value) as RevisionRecord) : null;
  }

  /** Record a revision (overwriting a leftover of an interrupted change), keep the newest `limit`. */
  async add(ns: string, name: string, record: RevisionRecord, limit: number): Promise<void> {
    await this.store.put(revisionKey(ns, name, record.revision), JSON.stringify(record));
    const all = (await this.store.list(revisionsOf(ns, name))).kvs;
    for (const kv of all.slice(0, Math.max(0, all.length - limit))) await this.store.delete(kv.key);
  }

  async rollout(ns: string, name: string): Promise<RolloutRecord | null> {
    const kv = await this.store.get(rolloutKey(ns, name));
    if (!kv) return null;
    try {
      return JSON.parse(kv.value) as RolloutRecord;
    } catch {
      return null;
    }
  }

  async setRollout(ns: string, name: string, r: RolloutRecord): Promise<void> {
    await this.store.put(rolloutKey(ns, name), JSON.stringify(r));
  }

  /**
   * Move the rollout of `revision` from Progressing to `next` (Complete or
   * Failed), unless a newer change replaced it meanwhile: compare-and-swap,
   * so a controller finishing an old rollout never overwrites a new one.
   */
  async finishRollout(
    ns: string,
    name: string,
    revision: number,
    next: Pick<RolloutRecord, "phase" | "reason">,
  ): Promise<boolean> {
    for (let i = 0; i < 20; i++) {
      const kv = await this.store.get(rolloutKey(ns, name));
      const cur = kv ? (JSON.parse(kv.value) as RolloutRecord) : null;
      if (cur && (cur.revision !== revision || cur.phase !== "Progressing")) return false;
      const rec: RolloutRecord = {
        revision,
        startedAt: cur?.startedAt ?? new Date().toISOString(),
        ...next,
        finishedAt: new Date().toISOString(),
      };
      const r = await this.store.put(rolloutKey(ns, name), JSON.stringify(rec), {
        expectModRevision: kv?.modRevision ?? 0,
      });
      if (r.ok) return true;
    }
    return false;
  }

  /** The deployment is gone: its history and rollout go with it. */
  async deleteAll(ns: string, name: string): Promise<void> {
    for (const kv of (await this.store.list(revisionsOf(ns, name))).kvs)
      await this.store.delete(kv.key);
    await this.store.delete(rolloutKey(ns, name));
  }
}
