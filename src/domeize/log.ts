// Diagnostics go to stderr only: stdout may carry a rendered template.
// The prefix mirrors Go's log package ("2006/01/02 15:04:05 ") so existing
// log parsers keep working, followed by the program name.

import { writeSync } from "node:fs";

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function stamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
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
  writeStderr(`${stamp(new Date())} domeize: ${message}\n`);
}
