// Dynamic endpoints split a rendered nginx file in two (the ingress-nginx
// way): the configuration, where each dynamic `upstream NAME { ... }` keeps
// its directives (keepalive, ...) but its `server` lines become a Lua
// balancer, and the members those `server` lines named, which are pushed to
// nginx instead. A pod change then changes only the members: no reload.
// The same template, the same truth (Ready pods not being deleted).

export interface UpstreamMembers {
  /** IP:port of every routable `server` line, in the rendered order, without duplicates. */
  members: string[];
  /** `server` lines that are not IP:port (a bad pod's value, a hostname, a unix socket). */
  bad: { server: string; error: string }[];
}

export interface SplitOutput {
  /** The file to write: dynamic upstreams as Lua balancers, everything else as rendered. */
  config: string;
  /** Members of each dynamic upstream, by name. */
  upstreams: Map<string, UpstreamMembers>;
}

/** The upstream block a dynamic upstream becomes (also what tests write by hand). */
export function dynamicUpstreamBlock(name: string, directives: readonly string[] = []): string {
  return [
    `upstream ${name} {`,
    // nginx wants a server; never chosen: Lua picks the peer, and with no member this one (down) gives 502
    "    server 127.0.0.1:1 down;",
    `    balancer_by_lua_block { require("domeos_balancer").balance("${name}") }`,
    ...directives.map((d) => `    ${d};`),
    "}",
  ].join("\n");
}

/** "IP:port" -> null when valid, else why not (the Lua endpoint applies the same rule). */
export function memberError(s: string): string | null {
  let port: string;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d+)$/.exec(s);
  if (v4) {
    if (v4.slice(1, 5).some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith("0"))))
      return "not an IPv4 address";
    port = v4[5];
  } else {
    const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(s);
    if (!v6?.[1].includes(":")) return "not IP:port";
    port = v6[2];
  }
  const n = Number(port);
  if (port.length > 5 || n < 1 || n > 65535) return "port out of range";
  return null;
}

interface Block {
  name: string;
  start: number; // index of "upstream"
  end: number; // index after the closing "}"
  directives: string[];
}

/**
 * Split `text`: every top-level upstream block whose name is in `only` (all
 * when omitted), unless it already has its own balancer_by_lua, becomes a
 * Lua balancer; its `server` lines become members (`down` and `backup`
 * servers are left out; a bare IP gets nginx's default port 80).
 */
export function splitUpstreams(text: string, only?: readonly string[]): SplitOutput {
  const upstreams = new Map<string, UpstreamMembers>();
  let config = "";
  let at = 0;
  for (const b of upstreamBlocks(text)) {
    if (only && !only.includes(b.name)) continue;
    if (b.directives.some((d) => /^balancer_by_lua/.test(d))) continue;
    const kept: string[] = [];
    const m = upstreams.get(b.name) ?? { members: [], bad: [] };
    for (const d of b.directives) {
      const words = d.split(/\s+/);
      if (words[0] !== "server") {
        kept.push(d);
        continue;
      }
      if (words.includes("down") || words.includes("backup")) continue;
      const addr = /^\d+\.\d+\.\d+\.\d+$/.test(words[1] ?? "")
        ? `${words[1]}:80`
        : (words[1] ?? "");
      const error = memberError(addr);
      if (error) m.bad.push({ server: words[1] ?? "", error });
      else if (!m.members.includes(addr)) m.members.push(addr);
    }
    upstreams.set(b.name, m);
    config += text.slice(at, b.start) + dynamicUpstreamBlock(b.name, kept);
    at = b.end;
  }
  return { config: config + text.slice(at), upstreams };
}

/**
 * Top-level `upstream NAME { ... }` blocks of an nginx file: directives
 * split on `;` (comments dropped, quotes respected; a nested block stays
 * inside its directive's text).
 */
function upstreamBlocks(text: string): Block[] {
  const out: Block[] = [];
  let depth = 0;
  let stmtStart = 0; // where the current directive's text starts
  let block: Block | null = null;
  let cur = ""; // directive text inside an upstream block
  let nested = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "#") {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? text.length : nl;
      if (block) cur += " ";
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      if (block) cur += text.slice(i, j + 1);
      i = j;
      continue;
    }
    if (block) {
      if (c === "{") nested++;
      if (c === "}" && nested > 0) {
        nested--;
        cur += c;
        if (nested === 0) {
          block.directives.push(cur.trim().replace(/\s+/g, " "));
          cur = "";
        }
        continue;
      }
      if (c === "}") {
        if (cur.trim() !== "") block.directives.push(cur.trim().replace(/\s+/g, " "));
        block.end = i + 1;
        out.push(block);
        block = null;
        cur = "";
        depth--;
        stmtStart = i + 1;
        continue;
      }
      if (c === ";" && nested === 0) {
        if (cur.trim() !== "") block.directives.push(cur.trim().replace(/\s+/g, " "));
        cur = "";
        continue;
      }
      cur += c;
      continue;
    }
    if (c === "{") {
      const head = /^\s*upstream\s+(\S+)\s*$/.exec(stripComments(text.slice(stmtStart, i)));
      if (depth === 0 && head) {
        const stmt = text.slice(stmtStart, i);
        const kw = /upstream\s+\S+\s*$/.exec(stmt);
        const start = stmtStart + (kw ? kw.index : stmt.lastIndexOf("upstream"));
        block = { name: head[1], start, end: -1, directives: [] };
      }
      depth++;
      stmtStart = i + 1;
    } else if (c === "}") {
      depth--;
      stmtStart = i + 1;
    } else if (c === ";") {
      stmtStart = i + 1;
    }
  }
  return out;
}

function stripComments(s: string): string {
  return s.replace(/#[^\n]*/g, "");
}
