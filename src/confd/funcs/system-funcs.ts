// confd's functions that look outside the key space: getenv, datetime,
// fileExists and the DNS lookups. Go's lookups are synchronous and template
// execution is synchronous here too, so names are resolved through the
// system resolver with `getent` (hosts file, then DNS, as Go does) behind a
// small cache; tests inject a resolver.

import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { GoTime } from "../../golib/time.js";
import { compareBytes, type FuncMap, GoStruct, goFunc, typedList } from "../../gotemplate/value.js";

export interface SrvRecord {
  target: string;
  port: number;
  priority: number;
  weight: number;
}

export interface Resolver {
  /** Every address of a host name ("" list on failure). */
  lookupIP(host: string): string[];
  lookupSRV(service: string, proto: string, name: string): SrvRecord[];
}

export interface SystemOptions {
  env?: NodeJS.ProcessEnv;
  resolver?: Resolver;
  now?: () => number;
}

/** *net.SRV as templates see it. */
export class GoSRV extends GoStruct {
  constructor(
    readonly Target: string,
    readonly Port: bigint,
    readonly Priority: bigint,
    readonly Weight: bigint,
  ) {
    super();
  }
  get goType(): string {
    return "*net.SRV";
  }
}

const CACHE_MS = 5000;

/** The default resolver: `getent ahosts` (nsswitch: /etc/hosts, DNS), cached 5 s. */
export class SystemResolver implements Resolver {
  private readonly cache = new Map<string, { at: number; ips: string[] }>();

  lookupIP(host: string): string[] {
    const hit = this.cache.get(host);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.ips;
    const ips = getentHosts(host);
    this.cache.set(host, { at: Date.now(), ips });
    return ips;
  }

  lookupSRV(service: string, proto: string, name: string): SrvRecord[] {
    const query = service === "" && proto === "" ? name : `_${service}._${proto}.${name}`;
    const script = `require("dns").resolveSrv(${JSON.stringify(query)},(e,r)=>{process.stdout.write(JSON.stringify(e?[]:r))})`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 5000 });
    try {
      const recs = JSON.parse(r.stdout || "[]") as {
        name: string;
        port: number;
        priority: number;
        weight: number;
      }[];
      return recs.map((x) => ({
        target: `${x.name}.`,
        port: x.port,
        priority: x.priority,
        weight: x.weight,
      }));
    } catch {
      return [];
    }
  }
}

function getentHosts(host: string): string[] {
  if (host === "" || host.startsWith("-")) return [];
  const r = spawnSync("getent", ["ahosts", host], { encoding: "utf8", timeout: 5000 });
  if (r.status !== 0 || !r.stdout) return [];
  const ips = new Set<string>();
  for (const line of r.stdout.split("\n")) {
    const ip = line.split(/\s+/)[0];
    if (ip) ips.add(ip);
  }
  return [...ips];
}

export function systemFuncs(opts: SystemOptions = {}): FuncMap {
  const env = opts.env ?? process.env;
  const resolver = opts.resolver ?? new SystemResolver();
  const now = opts.now ?? Date.now;
  // Go: net.LookupIP, strings of the IPs, sorted; errors give an empty (nil) list.
  const lookupIP = (host: string): string[] => [...resolver.lookupIP(host)].sort(compareBytes);
  return {
    // An empty value also falls back to the default (confd's Getenv).
    getenv: goFunc(
      ["string"],
      (name: string, ...def: string[]) => {
        const v = env[name] ?? "";
        return v === "" && def.length > 0 ? def[0] : v;
      },
      { variadic: "string" },
    ),
    datetime: goFunc([], () => new GoTime(now())),
    fileExists: goFunc(["string"], (p: string) => {
      // Like confd: only "does not exist" is false; other stat errors count as existing.
      try {
        statSync(p);
        return true;
      } catch (err) {
        return (
          (err as NodeJS.ErrnoException).code !== "ENOENT" &&
          (err as NodeJS.ErrnoException).code !== "ENOTDIR"
        );
      }
    }),
    lookupIP: goFunc(["string"], (h: string) => typedList("[]string", lookupIP(h))),
    lookupIPV4: goFunc(["string"], (h: string) =>
      typedList(
        "[]string",
        lookupIP(h).filter((ip) => ip.includes(".")),
      ),
    ),
    lookupIPV6: goFunc(["string"], (h: string) =>
      typedList(
        "[]string",
        lookupIP(h).filter((ip) => ip.includes(":")),
      ),
    ),
    lookupSRV: goFunc(
      ["string", "string", "string"],
      (service: string, proto: string, name: string) => {
        const recs = resolver.lookupSRV(service, proto, name);
        const key = (r: SrvRecord) => `${r.target}${r.port}${r.priority}${r.weight}`;
        const sorted = [...recs].sort((a, b) => compareBytes(key(a), key(b)));
        return typedList(
          "[]*net.SRV",
          sorted.map(
            (r) => new GoSRV(r.target, BigInt(r.port), BigInt(r.priority), BigInt(r.weight)),
          ),
        );
      },
    ),
  };
}
