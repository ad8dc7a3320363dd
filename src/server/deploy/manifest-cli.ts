// `domeos-server manifests --all`: the system's own Kubernetes objects
// (manifest-system.ts) as YAML (or JSON) for `kubectl apply -f -`.
import { parseArgs } from "node:util";
import { stringify as toYaml } from "yaml";
import { isDnsLabel } from "../http/names.js";
import { defaultSystemOptions, type SystemOptions, systemManifests } from "./manifest-system.js";

export const MANIFESTS_HELP = `domeos-server manifests: print the system's Kubernetes objects.

Usage:
  domeos-server manifests --all [options] | kubectl apply -f -

Prints: Namespace; Secrets domeos-server (agent secret, admin token) and
domeos-etcd (the ledger's etcd); domeos-server ServiceAccount, RBAC,
Deployment and Service; domeos-lb (domeos-confd + nginx) ServiceAccount,
RBAC, ConfigMap, Deployment and Service. Pods are read and annotated through
the Kubernetes API; the port ledger is in etcd. See docs/kubernetes.md.

Options:
  --all                  print every object (required)
  --namespace NS         where the system runs [domeos-system]
  --image IMG            the domeos-hostnet image [domeos/domeos-hostnet:0.1.0]
  --domeize-image IMG    the image that injects domeize into app pods ("" = none:
                         the app images have domeize on PATH) [domeos/domeize:0.1.0]
  --serve NS             namespace whose deployments the server manages; write
                         rights only there (repeatable, comma lists ok) [default]
  --etcd URL             the ledger's etcd store URL [etcd://etcd.domeos-system.svc:2379]
  --server-replicas N    [2]     --lb-replicas N   [2]
  --route NS/NAME        the deployment the load balancer routes to [default/web]
  --port-range MIN-MAX   AUTO_PORT range [20000-20999]
  --secret S             agent HMAC secret [random, 32 bytes]
  --admin-token T        admin API token [random]
  --format yaml|json     [yaml]
`;

const OPTIONS = {
  all: { type: "boolean" },
  namespace: { type: "string" },
  image: { type: "string" },
  "domeize-image": { type: "string" },
  serve: { type: "string", multiple: true },
  etcd: { type: "string" },
  "server-replicas": { type: "string" },
  "lb-replicas": { type: "string" },
  route: { type: "string" },
  "port-range": { type: "string" },
  secret: { type: "string" },
  "admin-token": { type: "string" },
  format: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export interface ManifestsIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

class UsageError extends Error {}

export function manifestsCli(argv: string[], io: ManifestsIo): number {
  try {
    const { values: v } = parseArgs({ args: argv, options: OPTIONS, strict: true });
    if (v.help) {
      io.out(MANIFESTS_HELP);
      return 0;
    }
    if (!v.all) throw new UsageError("give --all (the whole system is printed)");
    const format = v.format ?? "yaml";
    if (format !== "yaml" && format !== "json")
      throw new UsageError(`--format ${JSON.stringify(format)} must be yaml or json`);
    const objects = systemManifests(options(v));
    io.out(
      format === "json"
        ? `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)}\n`
        : objects.map((o) => toYaml(o)).join("---\n"),
    );
    return 0;
  } catch (err) {
    io.err(`domeos-server manifests: ${(err as Error).message}\n\n${MANIFESTS_HELP}`);
    return 2;
  }
}

function options(v: Record<string, string | boolean | string[] | undefined>): SystemOptions {
  const over: Partial<SystemOptions> = {};
  const str = (k: string) => v[k] as string | undefined;
  const ns = str("namespace");
  if (ns !== undefined) over.namespace = label("--namespace", ns);
  if (str("image") !== undefined) over.image = nonEmpty("--image", str("image")!);
  const di = str("domeize-image");
  if (di !== undefined) {
    if (/\s/.test(di))
      throw new UsageError(`--domeize-image ${JSON.stringify(di)} is not an image reference`);
    over.domeizeImage = di;
  }
  const serve = v.serve as string[] | undefined;
  if (serve)
    over.servedNamespaces = serve
      .flatMap((s) => s.split(","))
      .map((s) => label("--serve", s.trim()));
  if (str("etcd") !== undefined) over.etcdUrl = nonEmpty("--etcd", str("etcd")!);
  if (str("server-replicas") !== undefined)
    over.serverReplicas = count("--server-replicas", str("server-replicas")!);
  if (str("lb-replicas") !== undefined)
    over.lbReplicas = count("--lb-replicas", str("lb-replicas")!);
  const route = str("route");
  if (route !== undefined) {
    const [rns, name, ...rest] = route.split("/");
    if (name === undefined || rest.length > 0)
      throw new UsageError(`--route ${JSON.stringify(route)} must be NAMESPACE/DEPLOYMENT`);
    over.route = {
      namespace: label("--route namespace", rns!),
      deployName: label("--route deployment", name),
    };
  }
  const range = str("port-range");
  if (range !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(range);
    if (!m || Number(m[1]) < 1 || Number(m[2]) > 65535 || Number(m[1]) > Number(m[2]))
      throw new UsageError(`--port-range ${JSON.stringify(range)} must be MIN-MAX within 1-65535`);
    over.portRange = range;
  }
  if (str("secret") !== undefined) over.agentSecret = nonEmpty("--secret", str("secret")!);
  if (str("admin-token") !== undefined)
    over.adminToken = nonEmpty("--admin-token", str("admin-token")!);
  return defaultSystemOptions(over);
}

function label(what: string, s: string): string {
  if (!isDnsLabel(s)) throw new UsageError(`${what} ${JSON.stringify(s)} is not a DNS-1123 label`);
  return s;
}

function nonEmpty(what: string, s: string): string {
  if (s.trim() === "") throw new UsageError(`${what} must not be empty`);
  return s;
}

function count(what: string, s: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 100)
    throw new UsageError(`${what} ${JSON.stringify(s)} must be 1..100`);
  return n;
}
