// The final check before a port is handed out: really bind it, TCP and UDP,
// on the IPv6 wildcard in dual-stack mode (which also covers IPv4), falling
// back to the IPv4 wildcard on hosts without IPv6.
//
// Two ways to bind, same sockets and flags:
// - "handles" (used when available): the libuv TCP and UDP handles of
//   Node's tcp_wrap / udp_wrap bindings, the ones net.Server and dgram wrap.
//   bind, listen and close are synchronous calls, so a probe costs a few
//   system calls and no module loading (net.Server.listen alone loads the
//   stream stack, node:cluster and node:child_process) and no event-loop
//   round trip. The close releases the port at once (libuv closes the fd in
//   uv_close; only the callback is deferred).
// - "bun" (the self-contained executable): Bun.listen and Bun.udpSocket,
//   the same system calls (dual-stack "::", SO_REUSEADDR for TCP only, as
//   libuv) with a synchronous bind, listen and close; Bun's node:net and
//   node:dgram would cost every start 25-45 ms of module loading.
// - "streams": net.createServer().listen and dgram's bind, the public API;
//   used when the bindings are missing or differ (another runtime), or when
//   deprecations are being reported (see ../uv.ts).

import type { SocketOptions } from "node:dgram";
import { errName, hasMethods, uvBinding } from "../uv.js";

type Family = "dual" | "v4";
export type ProbeMethod = "handles" | "bun" | "streams";

/** Outcome of one bind: null when it succeeded, else the error code. */
type Bind = string | null;

interface UvHandle {
  bind(address: string, port: number, flags?: number): number;
  bind6(address: string, port: number, flags: number): number;
  close(): void;
}
interface TcpHandle extends UvHandle {
  listen(backlog: number): number;
}
interface Handles {
  tcp(): TcpHandle;
  udp(): UvHandle;
}

function loadHandles(): Handles | undefined {
  const tcpWrap = uvBinding("tcp_wrap") as
    | { TCP?: new (type: number) => TcpHandle; constants?: { SERVER?: number } }
    | undefined;
  const udpWrap = uvBinding("udp_wrap") as { UDP?: new () => UvHandle } | undefined;
  const TCP = tcpWrap?.TCP;
  const server = tcpWrap?.constants?.SERVER;
  const UDP = udpWrap?.UDP;
  if (typeof TCP !== "function" || typeof server !== "number" || typeof UDP !== "function") {
    return undefined;
  }
  try {
    const tcp = new TCP(server);
    const udp = new UDP();
    const ok =
      hasMethods(tcp, ["bind", "bind6", "listen", "close"]) &&
      hasMethods(udp, ["bind", "bind6", "close"]);
    tcp.close();
    udp.close();
    return ok ? { tcp: () => new TCP(server), udp: () => new UDP() } : undefined;
  } catch {
    return undefined;
  }
}

let handles: Handles | undefined | null = null;

interface BunSockets {
  listen(o: { hostname: string; port: number; socket: object }): { stop(force: boolean): void };
  udpSocket(o: { hostname: string; port: number }): Promise<{ close(): void }>;
}

/** Bun's socket API, when this runs under Bun (the self-contained executable). */
function bunSockets(): BunSockets | undefined {
  const bun = (globalThis as { Bun?: unknown }).Bun;
  return hasMethods(bun, ["listen", "udpSocket"]) ? (bun as BunSockets) : undefined;
}

const wildcard = (family: Family) => (family === "dual" ? "::" : "0.0.0.0");

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? "ERROR";

function tcpByBun(bun: BunSockets, port: number, family: Family): Bind {
  try {
    // Bun.listen binds and listens at once; stop(true) closes the socket before returning.
    bun.listen({ hostname: wildcard(family), port, socket: { data() {} } }).stop(true);
    return null;
  } catch (err) {
    return codeOf(err);
  }
}

async function udpByBun(bun: BunSockets, port: number, family: Family): Promise<Bind> {
  try {
    (await bun.udpSocket({ hostname: wildcard(family), port })).close();
    return null;
  } catch (err) {
    return codeOf(err);
  }
}

/** TCP: bind then listen (libuv reports EADDRINUSE at listen), as net.Server does. */
function tcpByHandle(h: Handles, port: number, family: Family): Bind {
  const sock = h.tcp();
  try {
    // flags 0: not IPv6-only, i.e. dual-stack.
    let err = family === "dual" ? sock.bind6("::", port, 0) : sock.bind("0.0.0.0", port);
    if (err === 0) err = sock.listen(511);
    return err === 0 ? null : errName(err);
  } finally {
    sock.close();
  }
}

/** UDP: bind without SO_REUSEADDR (flags 0), as dgram's exclusive bind. */
function udpByHandle(h: Handles, port: number, family: Family): Bind {
  const sock = h.udp();
  try {
    const err = family === "dual" ? sock.bind6("::", port, 0) : sock.bind("0.0.0.0", port, 0);
    return err === 0 ? null : errName(err);
  } finally {
    sock.close();
  }
}

/**
 * A built-in module, loaded on first use: process.getBuiltinModule where
 * present (the bundle runs from V8's code cache, where Node 20 cannot run
 * import()), else import().
 */
async function builtin<T>(id: "node:net" | "node:dgram"): Promise<T> {
  if (typeof process.getBuiltinModule === "function") return process.getBuiltinModule(id) as T;
  return (await import(id)) as T;
}

async function tcpByStream(port: number, family: Family): Promise<Bind> {
  const { createServer } = await builtin<typeof import("node:net")>("node:net");
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "ERROR"));
    // No host for the dual-stack wildcard: Node binds "::" (or 0.0.0.0 on
    // hosts without IPv6) without looking the address up, a startup cost.
    const opts = family === "dual" ? { port, ipv6Only: false } : { port, host: "0.0.0.0" };
    srv.listen({ ...opts, exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

/**
 * dgram resolves even the wildcard address through dns.lookup (loading
 * node:dns and compiling net's IPv6 pattern: milliseconds per start); the
 * probe only ever binds a literal wildcard, so it needs no resolver.
 */
function literalLookup(
  address: string,
  family: number,
  cb: (err: Error | null, address: string, family: number) => void,
): void {
  cb(null, address, family);
}
// @types/node describes dns.lookup's (options object) signature; dgram
// calls its lookup with (address, family, callback).
const literal = literalLookup as unknown as SocketOptions["lookup"];

async function udpByStream(port: number, family: Family): Promise<Bind> {
  const { createSocket } = await builtin<typeof import("node:dgram")>("node:dgram");
  return new Promise((resolve) => {
    const sock =
      family === "dual"
        ? createSocket({ type: "udp6", ipv6Only: false, lookup: literal })
        : createSocket({ type: "udp4", lookup: literal });
    sock.once("error", (err: NodeJS.ErrnoException) => {
      sock.close();
      resolve(err.code ?? "ERROR");
    });
    // No address: dgram picks "::" (dual-stack) or "0.0.0.0".
    sock.bind({ port, exclusive: true }, () => sock.close(() => resolve(null)));
  });
}

let family: Family = "dual";

const noIpv6 = (err: Bind) => err === "EAFNOSUPPORT" || err === "EADDRNOTAVAIL";

let bunFamilyKnown = false;

/**
 * Under Bun, whether "::" can be bound at all is checked once on port 0
 * (always free): Bun's error for a host without IPv6 may not carry the
 * errno libuv reports, and a dual-stack failure must not read as "busy".
 */
function checkBunFamily(bun: BunSockets): void {
  if (bunFamilyKnown) return;
  bunFamilyKnown = true;
  if (family === "dual" && tcpByBun(bun, 0, "dual") !== null) family = "v4";
}

/** The probe method in use here: "bun" under Bun, else "handles" unless unavailable. */
export function probeMethod(): ProbeMethod {
  if (bunSockets() !== undefined) return "bun";
  if (handles === null) handles = loadHandles();
  return handles === undefined ? "streams" : "handles";
}

/** True when nothing holds the port (TCP or UDP, any address). */
export async function portIsFree(port: number, method = probeMethod()): Promise<boolean> {
  const h = method === "handles" ? (handles ?? loadHandles()) : undefined;
  const bun = method === "bun" ? bunSockets() : undefined;
  const tcp = (f: Family) =>
    bun !== undefined
      ? tcpByBun(bun, port, f)
      : h !== undefined
        ? tcpByHandle(h, port, f)
        : tcpByStream(port, f);
  const udp = (f: Family) =>
    bun !== undefined
      ? udpByBun(bun, port, f)
      : h !== undefined
        ? udpByHandle(h, port, f)
        : udpByStream(port, f);
  if (bun !== undefined) checkBunFamily(bun);
  let err = await tcp(family);
  if (family === "dual" && noIpv6(err)) {
    family = "v4";
    err = await tcp(family);
  }
  if (err !== null) return false;
  return (await udp(family)) === null;
}
