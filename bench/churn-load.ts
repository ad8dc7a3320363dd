// The churn benchmark's load generator, in a worker thread so the runtime
// and server in the main thread do not share its event loop: `keepAlive`
// clients, each on one persistent connection (GET and POST alternating),
// and `close` clients opening a new connection per request
// (`Connection: close`). Every request is counted in the phase it started
// in; failed = a non-2xx answer, a connection error or no answer in 10 s.
import { Agent, request } from "node:http";
import { parentPort, workerData } from "node:worker_threads";

export interface LoadSettings {
  url: string;
  keepAliveClients: number;
  closeClients: number;
  /** Pause between two requests of one client. */
  intervalMs: number;
}

export interface GroupStats {
  requests: number;
  failed: number;
  slowestMs: number;
  errors: Record<string, number>;
  /** Failures on a reused keep-alive connection the server had closed (a Go or browser client retries a GET then). */
  resetReused: number;
}

export type PhaseStats = Record<string, { keepAlive: GroupStats; close: GroupStats }>;

const TIMEOUT_MS = 10_000;

function main(): void {
  const s = workerData as LoadSettings;
  const port = parentPort;
  if (!port) throw new Error("churn-load runs as a worker thread");
  const stats: PhaseStats = {};
  let phase = "start";
  let running = true;
  const entry = (p: string, group: "keepAlive" | "close") => {
    stats[p] ??= { keepAlive: fresh(), close: fresh() };
    return stats[p][group];
  };
  const client = async (group: "keepAlive" | "close", i: number) => {
    const agent = group === "keepAlive" ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
    let n = 0;
    while (running) {
      const p = phase;
      const t0 = performance.now();
      const method = n++ % 2 === 0 ? "GET" : "POST";
      const err = await once(s.url, agent, method, `${group}-${i}`);
      const e = entry(p, group);
      e.requests++;
      e.slowestMs = Math.max(e.slowestMs, performance.now() - t0);
      if (err) {
        e.failed++;
        // by method: nginx passes a failed GET to the next pod, never a POST it already sent
        const name = `${method} ${err.replace(" (reused connection)", "")}`;
        e.errors[name] = (e.errors[name] ?? 0) + 1;
        if (err.endsWith("(reused connection)")) e.resetReused++;
      }
      await new Promise((r) => setTimeout(r, s.intervalMs));
    }
    agent?.destroy();
  };
  const loops = [
    ...Array.from({ length: s.keepAliveClients }, (_, i) => client("keepAlive", i)),
    ...Array.from({ length: s.closeClients }, (_, i) => client("close", i)),
  ];
  port.on("message", (m: { phase?: string; stop?: boolean }) => {
    if (m.phase) phase = m.phase;
    if (m.stop) {
      running = false;
      void Promise.all(loops).then(() => port.postMessage(stats));
    }
  });
}

function fresh(): GroupStats {
  return { requests: 0, failed: 0, slowestMs: 0, errors: {}, resetReused: 0 };
}

/** One request; resolves to an error description, or "" when it answered 2xx. */
function once(url: string, agent: Agent | undefined, method: string, who: string): Promise<string> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (err: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(err);
    };
    const body = method === "POST" ? JSON.stringify({ who, at: Date.now() }) : undefined;
    const req = request(
      url,
      {
        method,
        agent: agent ?? false,
        headers: {
          ...(agent ? {} : { connection: "close" }),
          ...(body ? { "content-type": "application/json", "content-length": body.length } : {}),
        },
      },
      (res) => {
        res.resume();
        res.once("end", () =>
          done(res.statusCode && res.statusCode < 300 ? "" : `HTTP ${res.statusCode}`),
        );
        res.once("error", (e) => done(e.message));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done("timeout");
    }, TIMEOUT_MS);
    req.once("error", (e) => {
      const what = (e as NodeJS.ErrnoException).code ?? e.message;
      done(req.reusedSocket && what === "ECONNRESET" ? `${what} (reused connection)` : what);
    });
    req.end(body);
  });
}

main();
