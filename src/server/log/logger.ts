// JSON-lines logger on stderr: one object per line, machine-readable and
// greppable. Kept tiny on purpose (no dependency, no buffering), so a crash
// never loses the last lines.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(s: string): s is LogLevel {
  return Object.hasOwn(RANK, s);
}

/** A logger writing JSON lines at or above `level` to `out` (stderr by default). */
export function jsonLogger(
  level: LogLevel = "info",
  out: { write(s: string): unknown } = process.stderr,
  base: LogFields = { service: "domeos-server" },
): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < RANK[level]) return;
    const line = { time: new Date().toISOString(), level: lvl, ...base, msg, ...fields };
    out.write(`${JSON.stringify(line, errorReplacer)}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** Errors serialize as their message (JSON.stringify would give `{}`). */
function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}

/** A logger that drops everything (tests that do not care). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
