// Local port helpers for the demo.
import { createServer } from "node:net";

/** A port the kernel says is free on 127.0.0.1. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() =>
        a && typeof a === "object" ? resolve(a.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Can we listen on this port of 127.0.0.1? */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}
