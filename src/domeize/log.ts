// Diagnostics go to stderr only: stdout may carry a rendered template.
// The prefix mirrors Go's log package ("2006/01/02 15:04:05 ") so existing
// log parsers keep working, followed by the program name.

import { writeSync } from "node:fs";
import { localOffsetMinutes } from "./local-offset.js";

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Local time as Go's log prints it; the zone as Go finds it (see local-offset.ts). */
export function stamp(ms: number, env: NodeJS.ProcessEnv = process.env): string {
  const d = new Date(ms + localOffsetMinutes(ms, env) * 60_000);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/**
 * Straight to fd 2: touching process.stderr builds a stream (and loads
 * node:net for a pipe), measurable in every pod's startup. A non-blocking
 * stderr that is full falls back to the stream, which queues the rest.
 */
export function writeStderr(text: string): void {
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(2, buf, off);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EAGAIN") process.stderr.write(buf.subarray(off));
    // Anything else (EPIPE, EBADF: nobody reads stderr): the message is lost, as it would be anyway.
  }
}

export function log(message: string): void {
  writeStderr(`${stamp(Date.now())} domeize: ${message}\n`);
}
