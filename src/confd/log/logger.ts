// confd's log format on stderr: `2006-01-02T15:04:05Z07:00 host prog[pid]: LEVEL message`.
// Levels: debug < info < warning < error; -log-level picks the minimum.

import { hostname } from "node:os";

export type Level = "debug" | "info" | "warning" | "error";

const RANK: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };
const LABEL: Record<Level, string> = {
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
};

export interface Logger {
  (level: Level, msg: string): void;
  enabled(level: Level): boolean;
}

export function levelOf(text: string): Level {
  const t = text.toLowerCase();
  if (t === "debug") return "debug";
  if (t === "warn" || t === "warning") return "warning";
  if (t === "error" || t === "fatal" || t === "panic") return "error";
  return "info";
}

function rfc3339(d: Date): string {
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60000).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

export function createLogger(
  minLevel: Level,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const prefix = `${hostname()} ${process.argv[1]?.split("/").pop() ?? "domeos-confd"}[${process.pid}]:`;
  const log = ((level: Level, msg: string) => {
    if (RANK[level] < RANK[minLevel]) return;
    write(`${rfc3339(new Date())} ${prefix} ${LABEL[level]} ${msg}\n`);
  }) as Logger;
  log.enabled = (level: Level) => RANK[level] >= RANK[minLevel];
  return log;
}

/** A logger that keeps lines in memory (tests). */
export function memoryLogger(lines: string[] = []): Logger & { lines: string[] } {
  const log = ((level: Level, msg: string) => {
    lines.push(`${LABEL[level]} ${msg}`);
  }) as Logger & { lines: string[] };
  log.enabled = () => true;
  log.lines = lines;
  return log;
}
