// The HTTP load of the e2e tests and the churn benchmark (bench/churn.ts runs
// it in a worker thread: bench/churn-load.ts), one implementation:
// `keepAliveClients` clients, each on one persistent connection, and
// `closeClients` clients opening a new connection per request
// (`Connection: close`), GET and POST alternating (GET first), `intervalMs`
// between two requests of one client, until stop(). Every request is counted
// in the phase it started in; failed = a non-2xx answer, a connection error,
// no answer within `timeoutMs` (10 s), or (with `answerField`) an answer that
// is not JSON.
import { Agent, request } from "node:http";

export interface LoadSettings {
  url: string;
  keepAliveClients: number;
  closeClients: number;
  /** Pause between two requests of one client. */
  intervalMs: number;
  /** A request not answered in full within this fails ("timeout"); default 10 s. */
  timeoutMs?: number;
  /** Record this field of each (JSON) answer, with when it came: which version answered. */
  answerField?: string;
}

export type ClientGroup = "keepAlive" | "close";

export interface GroupStats {
  requests: number;
  failed: number;
  slowestMs: number;
  /** Failures by `METHOD error` (nginx passes a failed GET to the next pod, never a POST it already sent). */
  errors: Record<string, number>;
  /** Failures on a reused keep-alive connection the server had closed (a Go or browser client retries a GET then). */
  resetReused: number;
  /** The first failures, each with when (ISO time), for a message. */
  firstErrors: string[];
  /** `answerField` of each answer and when it came (Date.now()); empty without answerField. */
  answers: { at: number; value: string }[];
}

export type PhaseStats = Record<string, Record<ClientGroup, GroupStats>>;

/** The phase requests are counted in until the first phase() call. */
export const FIRST_PHASE = "start";

export interface Load {
  /** Count the requests started from now on in `name`. */
  phase(name: string): void;
  /** Stop the clients; resolves once each finished its last request. */
  stop(): Promise<PhaseStats>;
}

const FIRST_ERRORS = 10;

export function startLoad(s: LoadSettings): Load {
  const stats: PhaseStats = {};
  let phase = FIRST_PHASE;
  let running = true;
  const entry = (p: string) => {
    stats[p] ??= { keepAlive: freshStats(), close: freshStats() };
    return stats[p];
  };
  entry(phase);
  const client = async (group: ClientGroup, i: number) => {
    const agent = group === "keepAlive" ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
    for (let n = 0; running; n++) {
      const p = phase;
      const method = n % 2 === 0 ? "GET" : "POST";
      const t0 = performance.now();
      const answer = await once(s, agent, method, `${group}-${i}`);
      count(entry(p)[group], method, answer, performance.now() - t0);
      await new Promise((r) => setTimeout(r, s.intervalMs));
    }
    agent?.destroy();
  };
  const loops = [
    ...Array.from({ length: s.keepAliveClients }, (_, i) => client("keepAlive", i)),
    ...Array.from({ length: s.closeClients }, (_, i) => client("close", i)),
  ];
  return {
    phase(name) {
      phase = name;
      entry(name);
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

/** "N ok, M failed: the first errors", for a test's message. */
export function describeGroup(g: GroupStats): string {
  return `${g.requests - g.failed} ok, ${g.failed} failed: ${g.firstErrors.join("; ")}`;
}

function freshStats(): GroupStats {
  return {
    requests: 0,
    failed: 0,
    slowestMs: 0,
    errors: {},
    resetReused: 0,
    firstErrors: [],
    answers: [],
  };
}

interface Answer {
  /** "" when it answered 2xx (and, with answerField, JSON). */
  error: string;
  reusedConnection: boolean;
  value?: string;
}

function count(g: GroupStats, method: string, a: Answer, ms: number): void {
  g.requests++;
  g.slowestMs = Math.max(g.slowestMs, ms);
  if (!a.error) {
    if (a.value !== undefined) g.answers.push({ at: Date.now(), value: a.value });
    return;
  }
  g.failed++;
  const name = `${method} ${a.error}`;
  g.errors[name] = (g.errors[name] ?? 0) + 1;
  if (a.reusedConnection) g.resetReused++;
  if (g.firstErrors.length < FIRST_ERRORS)
    g.firstErrors.push(
      `${new Date().toISOString()} ${name}${a.reusedConnection ? " (reused connection)" : ""}`,
    );
}

/** One request: `agent` undefined = a new connection, closed after the answer. */
function once(
  s: LoadSettings,
  agent: Agent | undefined,
  method: string,
  who: string,
): Promise<Answer> {
  const answerField = s.answerField;
  return new Promise((resolve) => {
    let settled = false;
    const done = (error: string, value?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const reusedConnection = error === "ECONNRESET" && req.reusedSocket;
      resolve({ error, reusedConnection, value });
    };
    const body = method === "POST" ? JSON.stringify({ who, at: Date.now() }) : undefined;
    const req = request(
      s.url,
      {
        method,
        agent: agent ?? false,
        headers: {
          ...(agent ? {} : { connection: "close" }),
          ...(body ? { "content-type": "application/json", "content-length": body.length } : {}),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => {
          if (answerField) text += d;
        });
        res.once("end", () => {
          if (!res.statusCode || res.statusCode >= 300) return done(`HTTP ${res.statusCode}`);
          if (!answerField) return done("");
          const value = field(text, answerField);
          if (value === undefined) done(`bad body ${text.slice(0, 40)}`);
          else done("", value);
        });
        res.once("error", (e) => done(e.message));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done("timeout");
    }, s.timeoutMs ?? 10_000);
    req.once("error", (e) => done((e as NodeJS.ErrnoException).code ?? e.message));
    req.end(body);
  });
}

/** `name` of a JSON object answer, as a string; undefined when the answer is not one. */
function field(text: string, name: string): string | undefined {
  try {
    return String((JSON.parse(text) as Record<string, unknown>)[name]);
  } catch {
    return undefined;
  }
}
