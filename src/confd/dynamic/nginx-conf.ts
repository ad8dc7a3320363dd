// The nginx.conf lines dynamic endpoints need (docs/nginx-dynamic.md), in
// one place: the Lua modules (main context), and in the http context the
// Lua path, the shared dict, the secret, and the loopback-only server that
// receives member lists. Also: is the Lua module usable on this machine?
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../main/repo-root.js";

/** Debian's libnginx-mod-http-ndk / -lua (NGINX_MODULES_DIR overrides the directory). */
export const NGINX_MODULES_DIR = process.env.NGINX_MODULES_DIR ?? "/usr/lib/nginx/modules";
/** lua-resty-core (resty.core, ngx.balancer): Debian's lua-resty-core. */
export const RESTY_CORE_DIR = process.env.RESTY_CORE_DIR ?? "/usr/share/lua/5.1";
/** The shared dict the balancer keeps members in. */
export const MEMBERS_DICT = "domeos_members";
/** Request bodies the endpoint accepts (the Lua side checks the same bound). */
export const MAX_PUSH_BODY = "1m";

/** Where domeos_balancer.lua is. */
export function luaDir(): string {
  return join(repoRoot(), "src", "confd", "dynamic", "lua");
}

/** Main context: the modules (Debian's modules-enabled does this for the system nginx). */
export function loadModuleLines(): string {
  return [
    `load_module ${join(NGINX_MODULES_DIR, "ndk_http_module.so")};`,
    `load_module ${join(NGINX_MODULES_DIR, "ngx_http_lua_module.so")};`,
    "",
  ].join("\n");
}

export interface DynamicHttpOptions {
  /** The endpoint's listen address: "127.0.0.1:9180" or "unix:/run/domeos-members.sock". */
  listen: string;
  /** File holding the shared secret confd sends in X-Domeos-Secret (>= 16 characters). */
  secretFile: string;
  /** lua_shared_dict size (default 16m: ~100k members of 22 bytes with room). */
  dictSize?: string;
}

/** http context: Lua path, the members dict, the secret, the push endpoint. */
export function dynamicHttpLines(o: DynamicHttpOptions): string {
  return `lua_package_path "${luaDir()}/?.lua;${RESTY_CORE_DIR}/?.lua;;";
lua_shared_dict ${MEMBERS_DICT} ${o.dictSize ?? "16m"};
init_by_lua_block { require("domeos_balancer").init({ secret_file = ${luaString(o.secretFile)} }) }
# pushes (POST) rate-limited; reads are not (an empty key is not counted)
map $request_method $domeos_push_limit { POST $binary_remote_addr; default ""; }
limit_req_zone $domeos_push_limit zone=domeos_pushes:1m rate=100r/s;
# member lists from domeos-confd: loopback or a unix socket only, secret checked
server {
  listen ${o.listen};
  access_log off;
  client_max_body_size ${MAX_PUSH_BODY};
  client_body_buffer_size ${MAX_PUSH_BODY};
  limit_req zone=domeos_pushes burst=200 nodelay;
  limit_req_status 429;
  location /members { content_by_lua_block { require("domeos_balancer").serve() } }
  location / { return 404; }
}
`;
}

function luaString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

let available: boolean | undefined;

/**
 * Whether this nginx can load the Lua module with resty.core (an `nginx -t`
 * of a minimal config using it). Cached for the process.
 */
export function luaModuleAvailable(nginxBin: string): boolean {
  if (available !== undefined) return available;
  available = false;
  if (!existsSync(join(NGINX_MODULES_DIR, "ngx_http_lua_module.so"))) return false;
  const dir = mkdtempSync(join(tmpdir(), "nginx-lua-probe-"));
  try {
    writeFileSync(join(dir, "secret"), "probe-secret-0123456789");
    writeFileSync(
      join(dir, "nginx.conf"),
      `${loadModuleLines()}pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
${dynamicHttpLines({ listen: `unix:${join(dir, "probe.sock")}`, secretFile: join(dir, "secret") })}
upstream probe { server 127.0.0.1:1 down; balancer_by_lua_block { require("domeos_balancer").balance("probe") } }
}
`,
    );
    const r = spawnSync(
      nginxBin,
      ["-t", "-q", "-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")],
      {
        timeout: 10_000,
      },
    );
    available = r.status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return available;
}
