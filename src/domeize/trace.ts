// DOMEIZE_TRACE=1: phase timings on stderr (for the startup benchmark).

const on = process.env.DOMEIZE_TRACE === "1";
let last = performance.now();

export function trace(phase: string): void {
  if (!on) return;
  const now = performance.now();
  process.stderr.write(
    `domeize trace: ${phase} +${(now - last).toFixed(1)}ms (at ${now.toFixed(1)}ms)\n`,
  );
  last = now;
}
