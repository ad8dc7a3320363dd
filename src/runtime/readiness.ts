// Readiness of a host-mode replica: its first published port accepts TCP
// connections. Until then the pod has no podIP, so load balancers that
// follow the seed template do not send it traffic.
import { connect } from "node:net";

/** One TCP connect attempt with a short timeout. */
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
