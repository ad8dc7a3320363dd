// One JSON snapshot of everything the console shows: deployments, their
// pods (with ports, phase, restarts and recent log lines), the per-host port
// map from the server's ledger, and each domeos-confd resource's rendered
// file and health. Read straight from the store, so it shows what load
// balancers see.
import { readFileSync } from "node:fs";
import { type PodSummary, podSummary } from "../server/deploy/pod-summary.js";
import type { Store } from "../store/store.js";
import { tailLines } from "./logs.js";

export interface ConfdResource {
  /** A label for the console ("nginx upstream"). */
  name: string;
  /** The rendered destination file. */
  dest: string;
  /** domeos-confd's health endpoint (JSON or text), if it listens on one. */
  healthUrl?: string;
}

export interface StateSources {
  store: Store;
  /** Paths of a pod's logs, when this host runs it. */
  logPaths?: (namespace: string, pod: string) => { stdout: string; stderr: string } | undefined;
  portRange: { min: number; max: number };
  confd: ConfdResource[];
  /** Extra facts shown in the header (nginx URL, store description ...). */
  info?: Record<string, string>;
}

/** A pod as the console shows it: the admin API's summary plus its last log lines. */
export interface PodView extends PodSummary {
  logs: string[];
}

export interface DeploymentView {
  namespace: string;
  name: string;
  cluster: string;
  networkMode: string;
  replicas: number;
  ports: number;
  command: string[];
  /** Kubernetes deployments: the container image. */
  image?: string;
  templates: { src: string; dest: string }[];
  accessType: string;
  createdAt?: string;
}

export interface PortOwner {
  port: number;
  kind: string;
  pod?: string;
}

export interface ConsoleState {
  generatedAt: string;
  revision: number;
  info: Record<string, string>;
  portRange: { min: number; max: number };
  deployments: DeploymentView[];
  pods: PodView[];
  hosts: Record<string, PortOwner[]>;
  confd: { name: string; dest: string; content: string | null; health: unknown }[];
}

const LOG_LINES = 8;

export async function buildState(src: StateSources): Promise<ConsoleState> {
  const [deps, pods, ledger, confd] = await Promise.all([
    src.store.list("/domeos/deployments/"),
    src.store.list("/registry/pods/"),
    src.store.list("/domeos/ports/"),
    Promise.all(src.confd.map(confdView)),
  ]);
  return {
    generatedAt: new Date().toISOString(),
    revision: Math.max(deps.revision, pods.revision, ledger.revision),
    info: src.info ?? {},
    portRange: src.portRange,
    deployments: deps.kvs.flatMap((kv) => parse(kv.value, deploymentView)),
    pods: pods.kvs.flatMap((kv) => parse(kv.value, (o) => podView(o, src))),
    hosts: portMap(ledger.kvs),
    confd,
  };
}

function parse<T>(value: string, view: (o: Record<string, unknown>) => T): T[] {
  try {
    return [view(JSON.parse(value) as Record<string, unknown>)];
  } catch {
    return []; // a malformed object is not the console's to fix
  }
}

function deploymentView(o: Record<string, unknown>): DeploymentView {
  const d = o as unknown as DeploymentView;
  return {
    namespace: d.namespace,
    name: d.name,
    cluster: d.cluster,
    networkMode: d.networkMode,
    replicas: d.replicas,
    ports: d.ports,
    command: d.command ?? [],
    image: d.image,
    templates: d.templates ?? [],
    accessType: d.accessType,
    createdAt: d.createdAt,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: a stored pod is untyped JSON
function podView(p: any, src: StateSources): PodView {
  const summary = podSummary(p);
  const paths = src.logPaths?.(summary.namespace, summary.name);
  const logs = paths
    ? [...tailLines(paths.stdout, LOG_LINES), ...tailLines(paths.stderr, LOG_LINES)]
    : [];
  return { ...summary, logs: logs.slice(-LOG_LINES * 2) };
}

/** /domeos/ports/{host}/{port} records grouped by host (see src/server/ports/keys.ts). */
function portMap(kvs: { key: string; value: string }[]): Record<string, PortOwner[]> {
  const hosts: Record<string, PortOwner[]> = {};
  for (const kv of kvs) {
    const rest = kv.key.slice("/domeos/ports/".length);
    const slash = rest.lastIndexOf("/");
    const host = rest.slice(0, slash);
    const port = Number(rest.slice(slash + 1));
    if (!host || !Number.isInteger(port)) continue;
    const owner: PortOwner = { port, kind: "unknown" };
    try {
      const r = JSON.parse(kv.value) as { kind?: string; namespace?: string; pod?: string };
      owner.kind = r.kind ?? "unknown";
      if (r.pod) owner.pod = `${r.namespace}/${r.pod}`;
    } catch {
      // unreadable record: still a taken port
    }
    hosts[host] ??= [];
    hosts[host].push(owner);
  }
  for (const list of Object.values(hosts)) list.sort((a, b) => a.port - b.port);
  return hosts;
}

async function confdView(r: ConfdResource) {
  let content: string | null = null;
  try {
    content = readFileSync(r.dest, "utf8");
  } catch {
    content = null;
  }
  return { name: r.name, dest: r.dest, content, health: await health(r.healthUrl) };
}

async function health(url: string | undefined): Promise<unknown> {
  if (!url) return null;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    const text = await res.text();
    try {
      return { status: res.status, ...JSON.parse(text) };
    } catch {
      return { status: res.status, text: text.slice(0, 2000) };
    }
  } catch (err) {
    return { error: `cannot reach ${url}: ${(err as Error).message}` };
  }
}
