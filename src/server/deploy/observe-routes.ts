// Read-only admin routes that show what a deployment's pods are doing (the
// data behind `deploy status`, `deploy events` and `deploy logs`):
//   GET /api/deployments/{ns}/{name}/pods     one summary per pod (pod-summary.ts)
//   GET /api/deployments/{ns}/{name}/events   why pods are not ready or restart
//   GET /api/deployments/{ns}/{name}/logs     ?pod=&stream=stdout|stderr|all&tail=N&follow=1
// Every route takes ?cluster= (default "default") and the admin token.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tailLines } from "../../console/logs.js";
import type { Store } from "../../store/store.js";
import { requireAdmin } from "../auth/admin.js";
import { badRequest, HttpError } from "../http/errors.js";
import { requireLabel } from "../http/names.js";
import { sendOk } from "../http/respond.js";
import type { RequestContext, Router } from "../http/router.js";
import { podEvents } from "./pod-events.js";
import { type PodSummary, podSummary } from "./pod-summary.js";
import type { DeployDeps } from "./routes.js";

const ONE = "/api/deployments/:ns/:name";
const MAX_TAIL = 5000;
const FOLLOW_POLL_MS = 250;

export function addObserveRoutes(router: Router, deps: DeployDeps): void {
  const admin = (h: (ctx: RequestContext) => Promise<void>) => async (ctx: RequestContext) => {
    requireAdmin(ctx.req, deps.adminToken);
    await h(ctx);
  };
  router.add(
    "GET",
    `${ONE}/pods`,
    "deploy_pods",
    admin(async (ctx) => sendOk(ctx.res, await deploymentPods(ctx, deps))),
  );
  router.add(
    "GET",
    `${ONE}/events`,
    "deploy_events",
    admin(async (ctx) => sendOk(ctx.res, (await deploymentPods(ctx, deps)).flatMap(podEvents))),
  );
  router.add(
    "GET",
    `${ONE}/logs`,
    "deploy_logs",
    admin((ctx) => logs(ctx, deps)),
  );
}

/** The pods of one deployment (404 when the deployment does not exist), by name. */
async function deploymentPods(ctx: RequestContext, deps: DeployDeps): Promise<PodSummary[]> {
  const ns = requireLabel("namespace", ctx.params.ns!);
  const name = requireLabel("deployment name", ctx.params.name!);
  const cluster = deps.clusters.get(requireLabel("cluster", ctx.query.get("cluster") ?? "default"));
  await cluster.deployments.get(ns, name);
  return listDeploymentPods(cluster.store, ns, name);
}

/** Summaries of the stored pods of deployment `ns/name`, by name. */
export async function listDeploymentPods(
  store: Store,
  ns: string,
  name: string,
): Promise<PodSummary[]> {
  const { kvs } = await store.list(`/registry/pods/${ns}/`);
  const pods: PodSummary[] = [];
  for (const kv of kvs) {
    try {
      const pod = podSummary(JSON.parse(kv.value));
      if (pod.deployName === name) pods.push(pod);
    } catch {
      // a malformed pod object belongs to nobody's listing
    }
  }
  return pods.sort((a, b) => a.name.localeCompare(b.name));
}

type Stream = "stdout" | "stderr";

async function logs(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const q = ctx.query;
  const streams = streamsOf(q.get("stream") ?? "all");
  const tail = tailOf(q.get("tail"));
  const follow = boolOf("follow", q.get("follow"));
  const paths = deps.runtime.logPaths;
  if (!paths) {
    throw new HttpError(
      501,
      `the ${deps.runtime.name} runtime keeps no pod logs here (on Kubernetes: kubectl logs)`,
    );
  }
  const all = await deploymentPods(ctx, deps);
  const deployment = ctx.params.name!;
  const wanted = q.get("pod");
  let pods: { namespace: string; name: string }[] =
    wanted === null ? all : all.filter((p) => p.name === wanted);
  // a pod deleted a moment ago (scale-down, crash before delete): its kept logs
  if (
    wanted !== null &&
    pods.length === 0 &&
    paths.call(deps.runtime, ctx.params.ns!, wanted, deployment)
  )
    pods = [{ namespace: ctx.params.ns!, name: wanted }];
  if (wanted !== null && pods.length === 0)
    throw new HttpError(
      404,
      `pod ${JSON.stringify(wanted)} is not a pod of this deployment (nor a recently deleted one)`,
    );
  const sources = pods.flatMap((p) => {
    const files = paths.call(deps.runtime, p.namespace, p.name, deployment);
    if (!files) return [];
    const prefix = pods.length > 1 ? `[${p.name}] ` : "";
    return streams.map((s) => ({ path: files[s], prefix }));
  });
  // Where the tail ends and following starts, taken before the headers go
  // out: a client that writes a line once it has the answer must get it (the
  // server may be descheduled between sending the headers and reading sizes).
  const ends = sources.map((s) => sizeOf(s.path));
  ctx.res.writeHead(200, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  ctx.res.flushHeaders(); // a follower with nothing to tail yet still gets its answer
  sources.forEach((s, i) => {
    for (const line of tailLines(s.path, tail, 1 << 20, ends[i]))
      ctx.res.write(`${s.prefix}${line}\n`);
  });
  if (!follow) {
    ctx.res.end();
    return;
  }
  await followFiles(ctx.res, sources, ends);
}

/** Write what is appended to the files after `offsets` until the client goes away. */
async function followFiles(
  res: ServerResponse,
  sources: { path: string; prefix: string }[],
  offsets: number[],
): Promise<void> {
  const partial = sources.map(() => "");
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      sources.forEach((s, i) => {
        let fd: number;
        try {
          fd = openSync(s.path, "r");
        } catch {
          return;
        }
        try {
          const size = fstatSync(fd).size;
          if (size < offsets[i]!) offsets[i] = 0; // truncated or replaced
          if (size === offsets[i]) return;
          const buf = Buffer.alloc(Math.min(size - offsets[i]!, 1 << 20));
          const n = readSync(fd, buf, 0, buf.length, offsets[i]!);
          offsets[i]! += n;
          const text = partial[i] + buf.subarray(0, n).toString("utf8");
          const lines = text.split("\n");
          partial[i] = lines.pop() ?? "";
          for (const line of lines) res.write(`${s.prefix}${line}\n`);
        } finally {
          closeSync(fd);
        }
      });
    }, FOLLOW_POLL_MS);
    res.once("close", () => {
      clearInterval(timer);
      resolve();
    });
  });
}

function sizeOf(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return 0; // not written yet: follow from its start
  }
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

function streamsOf(v: string): Stream[] {
  if (v === "all") return ["stdout", "stderr"];
  if (v === "stdout" || v === "stderr") return [v];
  throw badRequest(`stream ${JSON.stringify(v)} must be stdout, stderr or all`);
}

function tailOf(v: string | null): number {
  if (v === null) return 100;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 0 || n > MAX_TAIL)
    throw badRequest(`tail ${JSON.stringify(v)} must be an integer from 0 to ${MAX_TAIL}`);
  return n;
}

function boolOf(name: string, v: string | null): boolean {
  if (v === null || v === "0" || v === "false") return false;
  if (v === "" || v === "1" || v === "true") return true;
  throw badRequest(`${name} ${JSON.stringify(v)} must be true or false`);
}
