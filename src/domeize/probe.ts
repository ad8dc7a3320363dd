// `domeize probe ...`: what the kubelet runs inside the app container of a
// host-network pod (manifests in src/server/deploy/manifest-domeize.ts).
// The ports are chosen at start, so no manifest can name them: the probes
// read them from DOMEIZE_STATE_DIR, where domeize recorded this container's
// ports (keys/<key>.json) and holds a claim per port (ports/<port>).
//
//   probe ready [CHECK]  every port of this container is claimed by the
//                        running app (same pid namespace), and CHECK passes
//   probe live [CHECK]   CHECK passes
//     CHECK: tcp N        AUTO_PORTn accepts TCP
//            http N PATH  GET PATH on AUTO_PORTn answers 2xx/3xx (as the kubelet's httpGet)
//            (none)       every AUTO_PORT accepts TCP
//   probe drain 15s      sleep (preStop: the image may have no sleep)
//   probe install DEST   copy this self-contained executable to DEST
//                        (the injection init container; the domeize image
//                        has no shell or cp)
//
// Exit 0 = success; 1 = not ready / not live (the reason on stderr); 2 = bad
// usage; 3 = bad environment.

import { chmodSync, copyFileSync, renameSync } from "node:fs";
import { get } from "node:http";
import { connect } from "node:net";
import { basename } from "node:path";
import { parseDuration } from "../golib/duration.js";
import { readEnv } from "./env.js";
import { DomeizeError, EXIT } from "./exit.js";
import { leaseKey } from "./ports/allocate.js";
import { claimLiveness, claimPath, previousPorts, readClaim } from "./ports/claims.js";

export const PROBE_USAGE = `Usage: domeize probe ready|live [tcp N | http N PATH] | drain DURATION | install DEST
  ready [CHECK]   the AUTO_PORTs of this container are held by the running app, and CHECK passes
  live [CHECK]    CHECK passes
                  CHECK: tcp N (AUTO_PORTn accepts TCP), http N PATH (GET answers 2xx/3xx);
                  none: every AUTO_PORT accepts TCP
  drain DURATION  wait (a preStop hook), e.g. 15s
  install DEST    copy the self-contained domeize executable to DEST (init container)
(an app that is really named "probe": domeize -- probe ...)
`;

const CONNECT_TIMEOUT_MS = 1000;
const HTTP_TIMEOUT_MS = 5000;

class NotReady extends Error {}

export async function probeMain(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [verb, arg, ...rest] = args;
  const usage = (why: string) => {
    process.stderr.write(`domeize probe: ${why}\n${PROBE_USAGE}`);
    return EXIT.usage;
  };
  if (verb !== "ready" && verb !== "live" && rest.length > 0)
    return usage(`unexpected arguments ${JSON.stringify(rest)}`);
  try {
    switch (verb) {
      case "ready":
      case "live": {
        const check = parseCheck(args.slice(1));
        if (typeof check === "string") return usage(`${verb}: ${check}`);
        await checkPorts(env, verb === "ready", check);
        return EXIT.ok;
      }
      case "drain": {
        const ms = arg === undefined ? undefined : parseDuration(arg);
        if (ms === undefined || ms < 0)
          return usage(`"drain" needs a duration like 15s, got ${JSON.stringify(arg ?? "")}`);
        await new Promise((r) => setTimeout(r, ms));
        return EXIT.ok;
      }
      case "install":
        if (arg === undefined || !arg.startsWith("/"))
          return usage(`"install" needs an absolute DEST, got ${JSON.stringify(arg ?? "")}`);
        install(arg);
        return EXIT.ok;
      default:
        return usage(verb === undefined ? "which probe?" : `unknown probe ${JSON.stringify(verb)}`);
    }
  } catch (err) {
    if (err instanceof NotReady) {
      process.stderr.write(`domeize probe ${verb}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof DomeizeError) {
      process.stderr.write(`domeize probe ${verb}: ${err.message}\n`);
      return err.code;
    }
    throw err;
  }
}

/** What to check on the ports: a TCP connect or an HTTP GET on one of them, or TCP on all. */
type Check =
  | { kind: "all" }
  | { kind: "tcp"; index: number }
  | { kind: "http"; index: number; path: string };

function parseCheck(args: string[]): Check | string {
  const [kind, n, path, ...rest] = args;
  if (kind === undefined) return { kind: "all" };
  const index = /^(0|[1-9]\d{0,4})$/.test(n ?? "") ? Number(n) : undefined;
  if (kind === "tcp" && index !== undefined && path === undefined) return { kind, index };
  if (
    kind === "http" &&
    index !== undefined &&
    path !== undefined &&
    /^\/[\x21-\x7e]*$/.test(path) &&
    rest.length === 0
  )
    return { kind, index, path };
  return `bad check ${JSON.stringify(args.join(" "))}: expected tcp N or http N /PATH`;
}

/** The ports domeize recorded for this container; with `held`, each claim must belong to the live app. */
async function checkPorts(env: NodeJS.ProcessEnv, held: boolean, check: Check): Promise<void> {
  const cfg = readEnv(env);
  if (cfg.pod === undefined) return; // NEED_PORTS=0: nothing domeize-specific to check
  const key = leaseKey(cfg.pod);
  const ports = previousPorts(cfg.stateDir, key);
  if (ports.length !== cfg.needPorts) {
    throw new NotReady(
      `${ports.length} of NEED_PORTS=${cfg.needPorts} ports recorded in ${cfg.stateDir} for ${key} (domeize has not allocated yet)`,
    );
  }
  if (held) {
    for (const port of ports) {
      const view = readClaim(claimPath(cfg.stateDir, port));
      if (view?.claim?.key !== key)
        throw new NotReady(`port ${port} is not claimed by ${key} (a previous run's port)`);
      if (claimLiveness(view) === "dead")
        throw new NotReady(`port ${port}: the process that claimed it is gone`);
    }
  }
  const hosts = ["127.0.0.1", ...(env.HOST_IP && env.HOST_IP !== "127.0.0.1" ? [env.HOST_IP] : [])];
  if (check.kind !== "all" && check.index >= ports.length)
    throw new NotReady(`AUTO_PORT${check.index}: the container has ${ports.length} ports`);
  const checked = check.kind === "all" ? ports : [ports[check.index]!];
  for (const port of checked) {
    if (!(await acceptsOnAny(hosts, port)))
      throw new NotReady(`port ${port} does not accept connections on ${hosts.join(" or ")}`);
  }
  if (check.kind === "http") {
    const port = ports[check.index]!;
    const status = await httpStatus(hosts, port, check.path);
    if (status < 200 || status >= 400)
      throw new NotReady(
        `GET ${check.path} on port ${port}: ${status === 0 ? "no answer" : `HTTP ${status}`}`,
      );
  }
}

/** The status of GET path on the first host that accepts; 0 when none answers. */
async function httpStatus(hosts: string[], port: number, path: string): Promise<number> {
  for (const host of hosts) {
    const code = await new Promise<number>((resolve) => {
      const req = get(
        { host, port, path, timeout: HTTP_TIMEOUT_MS, headers: { "user-agent": "domeize-probe" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once("timeout", () => req.destroy());
      req.once("error", () => resolve(0));
    });
    if (code !== 0) return code;
  }
  return 0;
}

async function acceptsOnAny(hosts: string[], port: number): Promise<boolean> {
  for (const host of hosts) if (await accepts(host, port)) return true;
  return false;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port, timeout: CONNECT_TIMEOUT_MS });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once("connect", () => done(true));
    sock.once("timeout", () => done(false));
    sock.once("error", () => done(false));
  });
}

/** Copy this executable to DEST atomically, mode 0755. */
function install(dest: string): void {
  const self = process.execPath;
  if (/^(node|bun)(\.exe)?$/.test(basename(self))) {
    throw new DomeizeError(
      EXIT.usage,
      `install copies the self-contained domeize executable, but this domeize runs on ${self}`,
    );
  }
  const tmp = `${dest}.tmp-${process.pid}`;
  copyFileSync(self, tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, dest);
}
