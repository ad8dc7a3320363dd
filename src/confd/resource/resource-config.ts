// One template resource (`<confdir>/conf.d/**/*.toml`, table [template]),
// validated: a resource with a mistake is rejected with a message naming the
// file and the key, and the other resources keep working (confd refuses to
// run anything when one file is bad).

import { readFileSync } from "node:fs";
import { isAbsolute, join as joinPath } from "node:path";
import { parse as parseToml } from "smol-toml";
import { mustParseDuration } from "../../golib/duration.js";
import { join } from "../../golib/path.js";
import { parseWait, type Wait } from "../cli/wait.js";
import { type DynamicEndpointsConfig, dynamicEndpointsOf } from "../dynamic/dynamic-config.js";
import { parseMode } from "./mode.js";
import { groupId, userId } from "./ownership.js";

export interface ResourceConfig {
  /** The .toml file, for messages. */
  file: string;
  src: string;
  /** Absolute template path (`<confdir>/templates/<src>`). */
  templatePath: string;
  dest: string;
  /** Keys as written in the resource. */
  keys: string[];
  /** Effective prefix ("/" when empty; replaced by -prefix). */
  prefix: string;
  /** Backend keys: prefix joined with each key. */
  backendKeys: string[];
  /** Explicit mode, or undefined: keep the destination's (0644 for a new file). */
  mode?: number;
  /** Explicit owner, or undefined: leave ownership alone. */
  uid?: number;
  gid?: number;
  checkCmd: string;
  reloadCmd: string;
  wait?: Wait;
  reloadMinIntervalMs?: number;
  /** Dynamic endpoints: upstream members pushed to nginx's Lua balancer, not rendered (docs/nginx-dynamic.md). */
  dynamicEndpoints?: DynamicEndpointsConfig;
}

export class ResourceError extends Error {
  override name = "ResourceError";
}

const KNOWN = new Set([
  "src",
  "dest",
  "keys",
  "prefix",
  "mode",
  "uid",
  "gid",
  "owner",
  "group",
  "check_cmd",
  "reload_cmd",
  "wait",
  "max_line_loss",
  "reload_min_interval",
  "dynamic_endpoints",
]);

export interface ResourceContext {
  confdir: string;
  /** -prefix: when non-empty replaces every resource's prefix (confd >= 0.12). */
  globalPrefix: string;
  warn?: (msg: string) => void;
}

/** Reads and validates a resource file; throws ResourceError naming the file. */
export function loadResource(file: string, ctx: ResourceContext): ResourceConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ResourceError(`${file}: cannot read: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ResourceError(
      `${file}: invalid TOML: ${(err as Error).message.replace(/\s+/g, " ").trim()}`,
    );
  }
  const t = doc.template;
  if (t === undefined || t === null || typeof t !== "object" || Array.isArray(t)) {
    throw new ResourceError(`${file}: missing [template] table`);
  }
  return fromTable(file, t as Record<string, unknown>, ctx);
}

function fromTable(file: string, t: Record<string, unknown>, ctx: ResourceContext): ResourceConfig {
  const fail = (key: string, msg: string): never => {
    throw new ResourceError(`${file}: [template] ${key}: ${msg}`);
  };
  for (const k of Object.keys(t))
    if (!KNOWN.has(k)) ctx.warn?.(`${file}: unknown key [template] ${k} ignored`);
  const str = (key: string): string | undefined => {
    const v = t[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string") fail(key, `expected a string, got ${JSON.stringify(v)}`);
    return v as string;
  };
  const int = (key: string): number | undefined => {
    const v = t[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      fail(key, `expected a non-negative integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const src = str("src") ?? "";
  if (src === "") fail("src", "empty src template");
  const dest = str("dest") ?? "";
  if (dest === "") fail("dest", "empty dest");
  if (!isAbsolute(dest)) fail("dest", `must be an absolute path, got ${JSON.stringify(dest)}`);
  const keysRaw = t.keys ?? [];
  if (!Array.isArray(keysRaw) || !keysRaw.every((k) => typeof k === "string")) {
    fail("keys", `expected an array of strings, got ${JSON.stringify(keysRaw)}`);
  }
  const keys = keysRaw as string[];
  const prefix = effectivePrefix(
    ctx.globalPrefix !== "" ? ctx.globalPrefix : (str("prefix") ?? ""),
  );
  const modeText = t.mode;
  let mode: number | undefined;
  if (modeText !== undefined) {
    try {
      mode = parseMode(typeof modeText === "number" ? String(modeText) : (modeText as string));
    } catch (err) {
      fail("mode", (err as Error).message);
    }
  }
  if (lineLossOf(t.max_line_loss, fail) !== undefined)
    ctx.warn?.(
      `${file}: [template] max_line_loss is ignored: the guard now holds suspicious store snapshots (global -max-line-loss), and deletions from a healthy store apply at once`,
    );
  const uid = ownership("uid", int("uid"), str("owner"), userId, fail);
  const gid = ownership("gid", int("gid"), str("group"), groupId, fail);
  return {
    file,
    src,
    templatePath: joinPath(ctx.confdir, "templates", src),
    dest,
    keys,
    prefix,
    backendKeys: keys.map((k) => join(prefix, k)),
    mode,
    uid,
    gid,
    checkCmd: str("check_cmd") ?? "",
    reloadCmd: str("reload_cmd") ?? "",
    wait: waitOf(t.wait, fail),
    reloadMinIntervalMs: durationOf(t.reload_min_interval, "reload_min_interval", fail),
    dynamicEndpoints: dynamicEndpointsOf(t.dynamic_endpoints, fail),
  };
}

/** confd: empty prefix means "/", a leading "/" is added. */
export function effectivePrefix(p: string): string {
  if (p === "") return "/";
  return p.startsWith("/") ? p : `/${p}`;
}

function ownership(
  key: string,
  id: number | undefined,
  name: string | undefined,
  resolve: (n: string) => number,
  fail: (k: string, m: string) => never,
): number | undefined {
  if (name === undefined || name === "") return id;
  const nameKey = key === "uid" ? "owner" : "group";
  let resolved: number;
  try {
    resolved = resolve(name);
  } catch (err) {
    return fail(nameKey, (err as Error).message);
  }
  if (id !== undefined && id !== resolved)
    fail(nameKey, `${name} is ${key} ${resolved}, but ${key} = ${id} is also set`);
  return resolved;
}

function waitOf(v: unknown, fail: (k: string, m: string) => never): Wait | undefined {
  if (v === undefined) return undefined;
  try {
    if (typeof v === "string") return parseWait(v);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const min = typeof o.min === "string" ? o.min : "0";
      const max = typeof o.max === "string" ? o.max : undefined;
      return parseWait(max === undefined ? min : `${min}:${max}`);
    }
  } catch (err) {
    return fail("wait", (err as Error).message);
  }
  return fail("wait", `expected "min:max" or {min = "..", max = ".."}, got ${JSON.stringify(v)}`);
}

function lineLossOf(v: unknown, fail: (k: string, m: string) => never): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || v < 0 || v > 1)
    return fail("max_line_loss", `expected a number between 0 and 1, got ${JSON.stringify(v)}`);
  return v;
}

function durationOf(
  v: unknown,
  key: string,
  fail: (k: string, m: string) => never,
): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string")
    return fail(key, `expected a duration string such as "2s", got ${JSON.stringify(v)}`);
  try {
    return mustParseDuration(v.trim());
  } catch (err) {
    return fail(key, (err as Error).message);
  }
}
