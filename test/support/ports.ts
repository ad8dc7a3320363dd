// Free loopback ports for test servers, chosen per test run.
//
// A port is handed out free and bound later by another process (etcd,
// nginx, a server): in between, anything may take it. `listen(0)` picks from
// the kernel's ephemeral range, which every outgoing connection on the
// machine also draws its local port from, so under load (thousands of
// connections from parallel tests) an outgoing socket took the port and
// etcd failed with "bind: address already in use". The ports are therefore
// picked at random below the ephemeral range and below the pods' port ranges
// the tests give the server (20000 and up): only another test picking the
// same random port at the same moment can collide.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const LOW = 10_000;
const HIGH = 19_999;
const TRIES = 50;

/** Ports handed out by this process (a random pick never repeats one). */
const given = new Set<number>();

/** Ask for a free TCP port on 127.0.0.1, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  if (belowEphemeralRange()) {
    for (let i = 0; i < TRIES; i++) {
      const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
      if (given.has(port)) continue;
      if ((await tryListen(port)) !== null) {
        given.add(port);
        return port;
      }
    }
  }
  const port = await tryListen(0);
  if (port === null) throw new Error("no free port on 127.0.0.1");
  return port;
}

/** Does LOW..HIGH lie below the kernel's ephemeral port range? */
function belowEphemeralRange(): boolean {
  try {
    const [start] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    return Number.isInteger(start) && start > HIGH;
  } catch {
    return false;
  }
}

/** Listen on `port` (0: any) and close again; the port, or null when it is taken. */
function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") resolve(null);
      else reject(err);
    });
    srv.listen(port, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") return reject(new Error("no port"));
      srv.close(() => resolve(addr.port));
    });
  });
}
