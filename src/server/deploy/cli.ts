// `domeos-server deploy ...`: a thin client of the admin API. People get
// tables and one-line confirmations; scripts get `-o json|yaml`.
import { parseArgs } from "node:util";
import { DEPLOY_HELP } from "../config/help.js";
import { AdminClient, ApiError, connectionReason, one, UsageError } from "./cli-client.js";
import { historyCommand, type RolloutRun, rollbackCommand, updateCommand } from "./cli-rollout.js";
import {
  deploymentsTable,
  eventsTable,
  formatData,
  type OutputFormat,
  podsTable,
  statusView,
} from "./cli-views.js";
import type { Deployment } from "./model.js";
import type { PodEvent } from "./pod-events.js";
import type { PodSummary } from "./pod-summary.js";
import type { RolloutStatus } from "./rollout-types.js";

const OPTIONS = {
  server: { type: "string" },
  "admin-token": { type: "string" },
  namespace: { type: "string", short: "n" },
  cluster: { type: "string" },
  image: { type: "string" },
  command: { type: "string" },
  replicas: { type: "string" },
  network: { type: "string" },
  ports: { type: "string" },
  template: { type: "string", multiple: true },
  access: { type: "string" },
  env: { type: "string", multiple: true },
  set: { type: "string", multiple: true },
  "to-revision": { type: "string" },
  revision: { type: "string" },
  wait: { type: "boolean" },
  format: { type: "string" },
  output: { type: "string", short: "o" },
  pod: { type: "string" },
  follow: { type: "boolean", short: "f" },
  tail: { type: "string" },
  stream: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Run a deploy subcommand; returns the exit code. */
export async function deployCli(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    const negative = argv.find((a) => /^-\d/.test(a));
    const msg = negative
      ? `${JSON.stringify(negative)}: numbers must not be negative`
      : (err as Error).message;
    io.err(`domeos-server deploy: ${msg}\n\n${DEPLOY_HELP}`);
    return 2;
  }
  const { values: v, positionals: pos } = parsed;
  const [cmd, ...args] = pos;
  if (v.help || cmd === undefined || cmd === "help") {
    io.out(DEPLOY_HELP);
    return v.help || cmd === "help" ? 0 : 2;
  }
  const server = (v.server ?? io.env.DOMEOS_SERVER ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  const token = v["admin-token"] ?? io.env.DOMEOS_ADMIN_TOKEN;
  if (!token) {
    io.err(
      "domeos-server deploy: no admin token: pass --admin-token or set DOMEOS_ADMIN_TOKEN (the server prints it at startup)\n",
    );
    return 2;
  }
  const api = new AdminClient(server, token, v.cluster, io.env.USER || undefined);
  try {
    const output = outputOf(v.output);
    return (
      (await COMMANDS[cmd]?.({ api, io, v, args, output, ns: v.namespace ?? "default" })) ??
      unknown(cmd)
    );
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`domeos-server deploy: ${err.message}\n\n${DEPLOY_HELP}`);
      return 2;
    }
    if (err instanceof ApiError) {
      io.err(`domeos-server deploy: ${err.message}\n`);
      return 1;
    }
    io.err(`domeos-server deploy: cannot reach ${server}: ${connectionReason(err)}\n`);
    return 1;
  }
}

function unknown(cmd: string): never {
  throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
}

interface Run {
  api: AdminClient;
  io: CliIo;
  v: Values;
  args: string[];
  output: OutputFormat;
  ns: string;
}

const COMMANDS: Record<string, (r: Run) => Promise<number>> = {
  async create({ api, io, v, args, output, ns }) {
    const d = await api.call<Deployment>("POST", "/api/deployments", createBody(args[0], ns, v));
    return done(
      io,
      output,
      d,
      `deployment ${d.namespace}/${d.name} created (${d.replicas} replicas)`,
    );
  },
  async list({ api, io, v, output }) {
    const query = new URLSearchParams(v.namespace ? { namespace: v.namespace } : {});
    const ds = await api.call<Deployment[]>("GET", `/api/deployments?${query}`);
    if (output !== "table") return print(io, ds, output);
    const pods = new Map<string, PodSummary[]>();
    await Promise.all(
      ds.map(async (d) =>
        pods.set(
          `${d.namespace}/${d.name}`,
          await api.call<PodSummary[]>("GET", `${one(d.namespace, d.name)}/pods`),
        ),
      ),
    );
    io.out(deploymentsTable(ds, pods));
    return 0;
  },
  async get({ api, io, args, output, ns }) {
    const d = await api.call<Deployment>("GET", one(ns, need(args[0], "get")));
    return print(io, d, output === "table" ? "yaml" : output);
  },
  async status({ api, io, args, output, ns }) {
    const name = need(args[0], "status");
    const [d, pods, rollout] = await Promise.all([
      api.call<Deployment>("GET", one(ns, name)),
      api.call<PodSummary[]>("GET", `${one(ns, name)}/pods`),
      api.call<RolloutStatus>("GET", `${one(ns, name)}/rollout`),
    ]);
    if (output !== "table") return print(io, { deployment: d, rollout, pods }, output);
    io.out(statusView(d, pods, rollout));
    return 0;
  },
  update: (r) => updateCommand(rolloutRun(r)),
  history: (r) => historyCommand(rolloutRun(r)),
  rollback: (r) => rollbackCommand(rolloutRun(r)),
  async pods({ api, io, args, output, ns }) {
    const pods = await api.call<PodSummary[]>("GET", `${one(ns, need(args[0], "pods"))}/pods`);
    if (output !== "table") return print(io, pods, output);
    io.out(pods.length === 0 ? "No pods.\n" : podsTable(pods));
    return 0;
  },
  async events({ api, io, args, output, ns }) {
    const events = await api.call<PodEvent[]>("GET", `${one(ns, need(args[0], "events"))}/events`);
    if (output !== "table") return print(io, events, output);
    io.out(eventsTable(events));
    return 0;
  },
  async logs({ api, io, v, args, ns }) {
    const query = new URLSearchParams();
    if (v.pod) query.set("pod", v.pod);
    if (v.tail !== undefined) query.set("tail", nonNegative("--tail", v.tail));
    if (v.stream) query.set("stream", v.stream);
    if (v.follow) query.set("follow", "1");
    await api.stream(`${one(ns, need(args[0], "logs"))}/logs?${query}`, io.out);
    return 0;
  },
  async scale({ api, io, args, output, ns }) {
    const name = need(args[0], "scale");
    if (args[1] === undefined) throw new UsageError('"scale" needs NAME and REPLICAS');
    const replicas = Number(nonNegative("REPLICAS", args[1]));
    const d = await api.call<Deployment>("PATCH", one(ns, name), { replicas });
    return done(io, output, d, `deployment ${d.namespace}/${d.name} scaled to ${d.replicas}`);
  },
  async delete({ api, io, args, output, ns }) {
    const d = await api.call<Deployment>("DELETE", one(ns, need(args[0], "delete")));
    return done(io, output, d, `deployment ${d.namespace}/${d.name} deleted`);
  },
  async manifest({ api, io, v, args, ns }) {
    const format = v.format ?? (v.output === "json" ? "json" : "yaml");
    const text = await api.text(
      `${one(ns, need(args[0], "manifest"))}/manifest?format=${encodeURIComponent(format)}`,
    );
    io.out(text.endsWith("\n") ? text : `${text}\n`);
    return 0;
  },
};

function rolloutRun({ api, io, v, args, output, ns }: Run): RolloutRun {
  return {
    api,
    out: io.out,
    v,
    args,
    ns,
    json: output !== "table",
    print: (data) => print(io, data, output === "table" ? "yaml" : output),
  };
}

function need(name: string | undefined, cmd: string): string {
  if (!name) throw new UsageError(`"${cmd}" needs the deployment NAME`);
  return name;
}

function nonNegative(what: string, s: string): string {
  if (!/^\d+$/.test(s))
    throw new UsageError(`${what} must be a non-negative integer, got ${JSON.stringify(s)}`);
  return s;
}

function outputOf(o: string | undefined): OutputFormat {
  if (o === undefined || o === "table" || o === "wide") return "table";
  if (o === "json" || o === "yaml") return o;
  throw new UsageError(`-o ${JSON.stringify(o)} must be json, yaml or table`);
}

function print(io: CliIo, data: unknown, format: OutputFormat): number {
  io.out(formatData(data, format === "table" ? "yaml" : format));
  return 0;
}

function done(io: CliIo, output: OutputFormat, d: Deployment, line: string): number {
  if (output === "table") io.out(`${line}\n`);
  else print(io, d, output);
  return 0;
}

function createBody(name: string | undefined, ns: string, v: Values): Record<string, unknown> {
  if (!name) throw new UsageError('"create" needs the deployment NAME');
  const body: Record<string, unknown> = { name, namespace: ns };
  if (v.cluster) body.cluster = v.cluster;
  if (v.image) body.image = v.image;
  if (v.command) body.command = ["/bin/sh", "-c", v.command];
  if (v.replicas !== undefined) body.replicas = Number(nonNegative("--replicas", v.replicas));
  const network = v.network ? String(v.network).toUpperCase() : "HOST";
  if (v.network) body.networkMode = network;
  // a host-mode pod almost always serves on one port: NEED_PORTS=1 unless told
  // --ports 2, or named ports --ports http,admin (AUTO_PORT_HTTP beside AUTO_PORT0)
  if (v.ports !== undefined && /^[a-z]/.test(v.ports)) body.portNames = v.ports.split(",");
  else if (v.ports !== undefined) body.ports = Number(nonNegative("--ports", v.ports));
  else if (network === "HOST") body.ports = 1;
  if (v.access) body.accessType = String(v.access).toUpperCase();
  if (v.template) body.templates = v.template;
  if (v.env) {
    const env: Record<string, string> = {};
    for (const e of v.env) {
      const i = e.indexOf("=");
      if (i <= 0) throw new UsageError(`--env ${JSON.stringify(e)} must be NAME=VALUE`);
      env[e.slice(0, i)] = e.slice(i + 1);
    }
    body.env = env;
  }
  return body;
}
