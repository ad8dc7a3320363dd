// DOMEIZE_TRACE=1: phase timings on stderr (for the startup benchmark).
// The global `performance` loads node:perf_hooks on first use (~10 ms):
// touched only when tracing is on.

import { writeStderr } from "./log.js";

const on = process.env.DOMEIZE_TRACE === "1";
let last = on ? performance.now() : 0;

export function trace(phase: string): void {
  if (!on) return;
  const now = performance.now();
  writeStderr(`domeize trace: ${phase} +${(now - last).toFixed(1)}ms (at ${now.toFixed(1)}ms)\n`);
  last = now;
}
