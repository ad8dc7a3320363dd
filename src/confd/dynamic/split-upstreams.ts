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
export function splitUpstreams(
  text: string,
  only?: readonly string[],
  cache: DirectiveCache = new DirectiveCache(),
): SplitOutput {
  const upstreams = new Map<string, UpstreamMembers>();
  let config = "";
  let at = 0;
  for (const b of upstreamBlocks(text)) {
    if (only && !only.includes(b.name)) continue;
    const parsed = b.directives.map((d) => cache.classify(d));
    if (parsed.some((d) => d.kind === "other" && d.text.startsWith("balancer_by_lua"))) continue;
    const kept: string[] = [];
    const m = upstreams.get(b.name) ?? { members: [], bad: [] };
    const seen = new Set(m.members);
    for (const d of parsed) {
      if (d.kind === "other") kept.push(d.text);
      else if (d.kind === "bad") m.bad.push({ server: d.server, error: d.error });
      else if (d.kind === "member" && !seen.has(d.addr)) {
        seen.add(d.addr);
        m.members.push(d.addr);
      }
    }
    upstreams.set(b.name, m);
    config += text.slice(at, b.start) + dynamicUpstreamBlock(b.name, kept);
    at = b.end;
  }
  cache.rotate();
  return { config: config + text.slice(at), upstreams };
}

type Directive =
  | { kind: "other"; text: string }
  | { kind: "member"; addr: string }
  | { kind: "bad"; server: string; error: string }
  | { kind: "skip" };

/**
 * What each directive of an upstream block is, remembered from one split to
 * the next by its raw text: a render repeats almost every server line of the
 * previous one. Only the last two splits' lines are kept (their keys are
 * slices of those renders' text, which they keep alive).
 */
export class DirectiveCache {
  private prev = new Map<string, Directive>();
  private cur = new Map<string, Directive>();

  classify(raw: string): Directive {
    let d = this.cur.get(raw) ?? this.prev.get(raw);
    if (!d) d = classifyNew(raw.trim().replace(/\s+/g, " "));
    this.cur.set(raw, d);
    return d;
  }

  /** A split ended: what it did not use is forgotten at the next one. */
  rotate(): void {
    this.prev = this.cur;
    this.cur = new Map();
  }
}

function classifyNew(text: string): Directive {
  const words = text.split(" ");
  if (words[0] !== "server") return text === "" ? { kind: "skip" } : { kind: "other", text };
  // down and backup servers are not members
  if (words.includes("down") || words.includes("backup")) return { kind: "skip" };
  const server = words[1] ?? "";
  const addr = /^\d+\.\d+\.\d+\.\d+$/.test(server) ? `${server}:80` : server;
  const error = memberError(addr);
  return error ? { kind: "bad", server, error } : { kind: "member", addr };
}

/**
 * Top-level `upstream NAME { ... }` blocks of an nginx file: directives
 * split on `;`, raw (comments dropped, quotes respected; a nested block
 * stays inside its directive's text). Jumps from one special character to
 * the next.
 */
function upstreamBlocks(text: string): Block[] {
  const out: Block[] = [];
  const special = /[;{}#"']/g;
  let depth = 0;
  let stmtStart = 0; // where the current directive's text starts (outside blocks)
  let block: Block | null = null;
  let cur = ""; // directive text inside an upstream block, up to `from`
  let from = 0; // text[from..i) not yet added to cur
  let nested = 0;
  const flush = (to: number) => {
    if (block) cur += text.slice(from, to);
  };
  const endDirective = () => {
    block?.directives.push(cur);
    cur = "";
  };
  for (let m = special.exec(text); m !== null; m = special.exec(text)) {
    const i = m.index;
    const c = text[i];
    if (c === "#") {
      flush(i);
      const nl = text.indexOf("\n", i);
      const next = nl < 0 ? text.length : nl;
      if (block) cur += " ";
      from = next;
      special.lastIndex = next;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      special.lastIndex = j + 1; // quoted text stays in cur (flushed later)
      continue;
    }
    if (block) {
      flush(i);
      from = i + 1;
      if (c === "{") {
        nested++;
        cur += c;
      } else if (c === "}" && nested > 0) {
        nested--;
        cur += c;
        if (nested === 0) endDirective();
      } else if (c === "}") {
        endDirective();
        block.end = i + 1;
        out.push(block);
        block = null;
        depth--;
        stmtStart = i + 1;
      } else if (nested > 0) {
        cur += c; // `;` inside a nested block
      } else {
        endDirective();
      }
      continue;
    }
    if (c === "{") {
      const stmt = text.slice(stmtStart, i);
      const head = /^\s*upstream\s+(\S+)\s*$/.exec(stripComments(stmt));
      if (depth === 0 && head) {
        const kw = /upstream\s+\S+\s*$/.exec(stmt);
        const start = stmtStart + (kw ? kw.index : stmt.lastIndexOf("upstream"));
        block = { name: head[1], start, end: -1, directives: [] };
        cur = "";
        from = i + 1;
      }
      depth++;
      stmtStart = i + 1;
    } else if (c === "}") {
      depth--;
      stmtStart = i + 1;
    } else {
      stmtStart = i + 1;
    }
  }
  return out;
}

function stripComments(s: string): string {
  return s.replace(/#[^\n]*/g, "");
}
