// `deploy update`, `deploy history`, `deploy rollback`: changing a running
// deployment from the command line. update reads the stored deployment,
// applies --set/--env/--command/... to it and sends the fields that changed
// (PATCH); a change to what pods run is a rollout the server carries out.
// --wait follows it to the end (exit 1 when it fails).
import { type AdminClient, one, UsageError } from "./cli-client.js";
import { historyTable, rolloutLine } from "./cli-views.js";
import type { Deployment } from "./model.js";
import type { RevisionRecord, RolloutStatus } from "./rollout-types.js";

export interface RolloutRun {
  api: AdminClient;
  out: (s: string) => void;
  /** --set PATH=VALUE, --env NAME=VALUE / NAME-, --command, --image, --replicas, ... */
  v: {
    set?: string[];
    env?: string[];
    command?: string;
    image?: string;
    replicas?: string;
    ports?: string;
    template?: string[];
    "to-revision"?: string;
    revision?: string;
    wait?: boolean;
  };
  args: string[];
  json: boolean;
  ns: string;
  print: (data: unknown) => number;
}

const WAIT_POLL_MS = 500;

export async function updateCommand(r: RolloutRun): Promise<number> {
  const name = r.args[0];
  if (!name) throw new UsageError('"update" needs the deployment NAME');
  const current = await r.api.call<Deployment>("GET", one(r.ns, name));
  const body = changes(current, r.v);
  if (Object.keys(body).length === 0)
    throw new UsageError('"update" needs a change: --set, --env, --command, --image, ...');
  const d = await r.api.call<Deployment>("PATCH", one(r.ns, name), body);
  if (r.json) r.print(d);
  const rolled = d.revision !== current.revision;
  if (!r.json)
    r.out(
      rolled
        ? `deployment ${d.namespace}/${d.name} updated: revision ${d.revision} rolling out (deploy status ${d.name})\n`
        : `deployment ${d.namespace}/${d.name} updated (revision ${d.revision ?? 1}, no rollout)\n`,
    );
  return r.v.wait ? waitRollout(r, name) : 0;
}

export async function historyCommand(r: RolloutRun): Promise<number> {
  const name = r.args[0];
  if (!name) throw new UsageError('"history" needs the deployment NAME');
  const [records, d] = await Promise.all([
    r.api.call<RevisionRecord[]>("GET", `${one(r.ns, name)}/history`),
    r.api.call<Deployment>("GET", one(r.ns, name)),
  ]);
  if (r.v.revision !== undefined) {
    const n = revisionNumber("--revision", r.v.revision);
    const rec = records.find((x) => x.revision === n);
    if (!rec)
      throw new UsageError(
        `revision ${n} of ${name} is not kept (kept: ${records.map((x) => x.revision).join(", ")})`,
      );
    return r.print(rec);
  }
  if (r.json) return r.print(records);
  r.out(historyTable(records, d.revision ?? Math.max(...records.map((x) => x.revision))));
  return 0;
}

export async function rollbackCommand(r: RolloutRun): Promise<number> {
  const name = r.args[0];
  if (!name) throw new UsageError('"rollback" needs the deployment NAME');
  const to = r.v["to-revision"];
  const body = to === undefined ? {} : { toRevision: revisionNumber("--to-revision", to) };
  const d = await r.api.call<Deployment>("POST", `${one(r.ns, name)}/rollback`, body);
  if (r.json) r.print(d);
  else
    r.out(
      `deployment ${d.namespace}/${d.name} rolled back${to ? ` to revision ${to}` : ""}: revision ${d.revision} rolling out\n`,
    );
  return r.v.wait ? waitRollout(r, name) : 0;
}

/** Follow the rollout to Complete (0) or Failed (1), printing each change of progress. */
async function waitRollout(r: RolloutRun, name: string): Promise<number> {
  let last = "";
  for (;;) {
    const s = await r.api.call<RolloutStatus>("GET", `${one(r.ns, name)}/rollout`);
    const line = rolloutLine(s);
    if (line !== last && !r.json) r.out(`${line}\n`);
    last = line;
    if (s.phase === "Complete") return 0;
    if (s.phase === "Failed") return 1;
    await new Promise((res) => setTimeout(res, WAIT_POLL_MS));
  }
}

/** The PATCH body: every top-level field the options change, whole. */
function changes(current: Deployment, v: RolloutRun["v"]): Record<string, unknown> {
  const next = structuredClone(current) as unknown as Record<string, unknown>;
  const touched = new Set<string>();
  for (const s of v.set ?? []) {
    const i = s.indexOf("=");
    if (i <= 0)
      throw new UsageError(`--set ${JSON.stringify(s)} must be FIELD=VALUE (FIELD may be a.b.c)`);
    const path = s.slice(0, i).split(".");
    if (path.some((p) => p === "" || p === "__proto__" || p === "constructor" || p === "prototype"))
      throw new UsageError(`--set ${JSON.stringify(s)}: bad field path`);
    setPath(next, path, value(s.slice(i + 1)));
    touched.add(path[0]!);
  }
  if (v.env) {
    const env = { ...current.env };
    for (const e of v.env) {
      if (e.endsWith("-") && !e.includes("=")) delete env[e.slice(0, -1)];
      else {
        const i = e.indexOf("=");
        if (i <= 0)
          throw new UsageError(`--env ${JSON.stringify(e)} must be NAME=VALUE or NAME- (remove)`);
        env[e.slice(0, i)] = e.slice(i + 1);
      }
    }
    next.env = env;
    touched.add("env");
  }
  if (v.command !== undefined) {
    next.command = ["/bin/sh", "-c", v.command];
    touched.add("command");
  }
  if (v.image !== undefined) {
    next.image = v.image;
    touched.add("image");
  }
  if (v.replicas !== undefined) {
    if (!/^\d+$/.test(v.replicas))
      throw new UsageError(
        `--replicas must be a non-negative integer, got ${JSON.stringify(v.replicas)}`,
      );
    next.replicas = Number(v.replicas);
    touched.add("replicas");
  }
  if (v.ports !== undefined) {
    if (/^[a-z]/.test(v.ports)) {
      next.portNames = v.ports.split(",");
      next.ports = (next.portNames as string[]).length;
      touched.add("portNames");
    } else if (/^\d+$/.test(v.ports)) {
      next.ports = Number(v.ports);
      if (current.portNames) {
        next.portNames = null;
        touched.add("portNames");
      }
    } else throw new UsageError(`--ports must be a count or names, got ${JSON.stringify(v.ports)}`);
    touched.add("ports");
  }
  if (v.template) {
    next.templates = v.template;
    touched.add("templates");
  }
  return Object.fromEntries([...touched].map((k) => [k, next[k] ?? null]));
}

/** VALUE as JSON when it is JSON (3, true, ["a"], {"k":1}), else the string itself. */
function value(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function setPath(o: Record<string, unknown>, path: string[], v: unknown): void {
  let at = o;
  for (const k of path.slice(0, -1)) {
    const child = at[k];
    if (child === null || typeof child !== "object" || Array.isArray(child)) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[path[path.length - 1]!] = v;
}

function revisionNumber(flag: string, s: string): number {
  if (!/^[1-9]\d*$/.test(s))
    throw new UsageError(`${flag} must be a revision number, got ${JSON.stringify(s)}`);
  return Number(s);
}
