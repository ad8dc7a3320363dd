// Wait for all dependencies in parallel under one overall timeout. Each one
// is checked, then re-checked every retry interval (never a busy loop). On
// timeout the error names every dependency still down and why.

import { formatDuration } from "../../golib/duration.js";
import { EXIT, fail } from "../exit.js";
import { log } from "../log.js";
import { checkOnce } from "./checks.js";
import type { WaitHeader, WaitTarget } from "./targets.js";

export interface WaitOptions {
  readonly targets: readonly WaitTarget[];
  readonly headers: readonly WaitHeader[];
  readonly retryMs: number;
  readonly timeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitAll(o: WaitOptions): Promise<void> {
  if (o.targets.length === 0) return;
  const deadline = Date.now() + o.timeoutMs;
  const down = new Map<WaitTarget, string>();
  await Promise.all(
    o.targets.map(async (t) => {
      for (;;) {
        const left = deadline - Date.now();
        const why = await checkOnce(
          t,
          o.headers,
          Math.max(1, Math.min(left, Math.max(o.retryMs, 1000))),
        );
        if (why === null) {
          down.delete(t);
          log(`dependency ready: ${t.url}`);
          return;
        }
        down.set(t, why);
        const pause = Math.min(o.retryMs, deadline - Date.now());
        if (pause <= 0) return;
        await sleep(pause);
        if (Date.now() >= deadline) return;
      }
    }),
  );
  if (down.size > 0) {
    const list = [...down].map(([t, why]) => `${t.url} (${why})`).join(", ");
    fail(
      EXIT.wait,
      `timeout after ${formatDuration(o.timeoutMs)} waiting for dependencies: still down: ${list}`,
    );
  }
}
