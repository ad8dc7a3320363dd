// DOMEOS_CONFD_TRACE=1: one stderr line per phase of a run (ms since the
// process started, peak and current RSS, V8 heap, memory outside it), to see
// where -onetime's time and memory go without a profiler. Off: a no-op.

import { readFileSync } from "node:fs";

const on = process.env.DOMEOS_CONFD_TRACE === "1";
const MiB = 1 << 20;

function peakRssMiB(): string {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? (Number(m[1]) / 1024).toFixed(1) : "?";
  } catch {
    return "?";
  }
}

export function phase(name: string): void {
  if (!on) return;
  const m = process.memoryUsage();
  process.stderr.write(
    `trace ${performance.now().toFixed(0).padStart(5)} ms ${name.padEnd(18)} peak ${peakRssMiB()} MiB, rss ${(m.rss / MiB).toFixed(1)}, heap ${(m.heapUsed / MiB).toFixed(1)}/${(m.heapTotal / MiB).toFixed(1)}, external ${(m.external / MiB).toFixed(1)}\n`,
  );
}
