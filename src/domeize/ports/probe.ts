// The final check before a port is handed out: really bind it, TCP and UDP,
// on the IPv6 wildcard in dual-stack mode (which also covers IPv4), falling
// back to the IPv4 wildcard on hosts without IPv6.

import { createSocket, type SocketOptions } from "node:dgram";
import { createServer } from "node:net";

type Family = "dual" | "v4";

function probeTcp(port: number, family: Family): Promise<string | null> {
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

function probeUdp(port: number, family: Family): Promise<string | null> {
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

/** True when nothing holds the port (TCP or UDP, any address). */
export async function portIsFree(port: number): Promise<boolean> {
  let tcp = await probeTcp(port, family);
  if (family === "dual" && (tcp === "EAFNOSUPPORT" || tcp === "EADDRNOTAVAIL")) {
    family = "v4";
    tcp = await probeTcp(port, family);
  }
  if (tcp !== null) return false;
  return (await probeUdp(port, family)) === null;
}
