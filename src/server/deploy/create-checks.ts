// Checks of a deployment at create and scale that need more than its own
// fields: does it fit in the port range, and do its templates parse. Each
// problem names the field; the route answers 400 with all of them.
import { readFileSync, statSync } from "node:fs";
import { basename, isAbsolute } from "node:path";
import type { PortRange } from "../agent/annotation-policy.js";
import type { Deployment } from "./model.js";

/**
 * Ports the deployment needs on one host against the range. With the
 * process runtime every replica (and every other deployment it runs) shares
 * this host; elsewhere a host runs at least one pod.
 */
export function capacityProblem(
  d: Deployment,
  range: PortRange,
  singleHost: boolean,
  others: readonly Deployment[],
): string | null {
  if (d.ports === 0 || d.networkMode !== "HOST") return null;
  const size = range.max - range.min + 1;
  const pods = singleHost ? d.replicas : Math.min(1, d.replicas);
  const mine = pods * d.ports;
  const theirs = singleHost
    ? others
        .filter(
          (o) => o.networkMode === "HOST" && !(o.namespace === d.namespace && o.name === d.name),
        )
        .reduce((n, o) => n + o.replicas * o.ports, 0)
    : 0;
  if (mine + theirs <= size) return null;
  const how = singleHost
    ? `${d.replicas} replicas x ${d.ports} ports on this host${theirs > 0 ? `, plus ${theirs} for the other deployments here` : ""}`
    : `${d.ports} ports per pod`;
  return `ports: deployment ${d.namespace}/${d.name} needs ${mine + theirs} ports (${how}), range ${range.min}-${range.max} has ${size}`;
}

/**
 * Templates whose source is a file on this host (the process runtime's)
 * parsed as domeize will parse them: a syntax error is a 400 now instead of
 * a pod that crash-loops. Sources inside an image cannot be read here.
 */
export async function templateProblems(d: Deployment): Promise<string[]> {
  const local = d.templates.filter((t) => isAbsolute(t.src) && isFile(t.src));
  // custom delimiters (domeize -delims) change the syntax: domeize checks those at start
  if (local.length === 0 || (d.command ?? []).some((a) => /^--?delims(=|$)/.test(a))) return [];
  const [{ Template }, { templateFuncs }] = await Promise.all([
    import("../../gotemplate/index.js"),
    import("../../domeize/funcs/index.js"),
  ]);
  const funcs = Object.entries(templateFuncs());
  const problems: string[] = [];
  for (const t of local) {
    const text = readFileSync(t.src, "utf8");
    const used = Object.fromEntries(funcs.filter(([name]) => text.includes(name)));
    try {
      // named as domeize and dockerize name it, so the error is the one the pod would print
      new Template(basename(t.src), { funcs: used }).parse(text);
    } catch (err) {
      problems.push(`templates: ${t.src} does not parse: ${(err as Error).message}`);
    }
  }
  return problems;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
