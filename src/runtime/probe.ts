// Running a readiness or liveness check (src/server/deploy/probe-spec.ts)
// against a replica, as the kubelet does: every periodSeconds after
// initialDelaySeconds, each check bounded by timeoutSeconds; the result
// flips to passing after successThreshold consecutive successes and to
// failing after failureThreshold consecutive failures. The replica turns
// transitions into its Ready condition (readiness) or a restart (liveness).
import { request } from "node:http";
import { connect } from "node:net";
import { type ProbeSpec, probePortIndex } from "../server/deploy/probe-spec.js";

export type ProbeResult = { ok: true } | { ok: false; message: string };

export interface ProbeTarget {
  host: string;
  /** The pod's AUTO_PORTn ports now (read at each check: a pod may publish new ones). */
  ports(): Promise<number[]>;
}

/** One check of `spec` against the target. Never rejects. */
export async function runCheck(spec: ProbeSpec, target: ProbeTarget): Promise<ProbeResult> {
  const handler = spec.httpGet ?? spec.tcpSocket;
  if (!handler) return { ok: true };
  const index = probePortIndex(handler.port);
  let port: number | undefined;
  try {
    port = (await target.ports())[index];
  } catch (err) {
    return { ok: false, message: `cannot read the pod's ports: ${(err as Error).message}` };
  }
  if (port === undefined || !Number.isInteger(port))
    return { ok: false, message: `AUTO_PORT${index} is not published yet` };
  const timeoutMs = spec.timeoutSeconds * 1000;
  if (spec.httpGet) return httpAnswers(target.host, port, spec.httpGet.path, timeoutMs);
  return (await tcpAccepts(target.host, port, timeoutMs))
    ? { ok: true }
    : { ok: false, message: `TCP connect to ${target.host}:${port} failed or timed out` };
}

/** One TCP connect attempt with a timeout. */
export function tcpAccepts(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/** GET path: 2xx or 3xx within the timeout (the kubelet's rule). */
export function httpAnswers(
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const where = `GET http://${host}:${port}${path}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request(
      {
        host,
        port,
        path,
        method: "GET",
        agent: false,
        headers: { "user-agent": "domeos-probe/1", connection: "close" },
      },
      (res) => {
        const code = res.statusCode ?? 0;
        res.resume();
        done(
          code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `${where}: ${code}` },
        );
      },
    );
    // one deadline for connect, headers and all: a hung (SIGSTOPped) app accepts but never answers
    const timer = setTimeout(
      () => done({ ok: false, message: `${where}: no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    req.once("error", (err) => done({ ok: false, message: `${where}: ${err.message}` }));
    req.end();
  });
}

export interface ProberOptions {
  spec: ProbeSpec;
  check: () => Promise<ProbeResult>;
  /** The state before the first check: readiness starts failing, liveness passing. */
  initial: boolean;
  /**
   * Until the first pass, check this often instead of every periodSeconds, so
   * a new pod is routed as soon as it answers (the kubelet's startup probes
   * serve the same purpose).
   */
  untilFirstPassMs?: number;
  /** A transition (not called for the initial state). */
  onChange(passing: boolean, message: string): void;
}

/** The check loop of one probe for one run of a process. */
export class Prober {
  private passing: boolean;
  private everPassed = false;
  private successes = 0;
  private failures = 0;
  private stopped = false;
  private readonly sleep = new Sleep();
  /** The last failed check's message (why a pod is not Ready yet, before any transition). */
  lastFailure: string | undefined;

  constructor(private readonly o: ProberOptions) {
    this.passing = o.initial;
  }

  get state(): boolean {
    return this.passing;
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.sleep.cancel();
  }

  private async loop(): Promise<void> {
    const s = this.o.spec;
    if (s.initialDelaySeconds > 0) await this.sleep.wait(s.initialDelaySeconds * 1000);
    while (!this.stopped) {
      const t0 = Date.now();
      const r = await this.o.check();
      if (this.stopped) return;
      this.record(r);
      const period =
        !this.everPassed && this.o.untilFirstPassMs !== undefined
          ? this.o.untilFirstPassMs
          : s.periodSeconds * 1000;
      await this.sleep.wait(Math.max(0, period - (Date.now() - t0)));
    }
  }

  private record(r: ProbeResult): void {
    const s = this.o.spec;
    if (r.ok) {
      this.failures = 0;
      this.successes++;
      if (!this.passing && this.successes >= s.successThreshold) this.flip(true, "");
    } else {
      this.successes = 0;
      this.failures++;
      this.lastFailure = r.message;
      if (this.passing && this.failures >= s.failureThreshold) this.flip(false, r.message);
    }
  }

  private flip(passing: boolean, message: string): void {
    this.passing = passing;
    if (passing) this.everPassed = true;
    this.o.onChange(passing, message);
  }
}

/** A sleep that `cancel()` ends early (resolving false). */
export class Sleep {
  private timer: NodeJS.Timeout | null = null;
  private wake: ((v: boolean) => void) | null = null;

  wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.wake = null;
        resolve(true);
      }, ms);
    });
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const w = this.wake;
    this.wake = null;
    w?.(false);
  }
}
