// The last lines of a pod's log files, read from the end so a large log
// costs one small read.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

const TAIL_BYTES = 8192;

/**
 * The last `maxLines` lines of a file, reading at most its last `maxBytes`;
 * with `end`, of its first `end` bytes only (what a follower starts after).
 */
export function tailLines(
  path: string,
  maxLines: number,
  maxBytes = TAIL_BYTES,
  end = Number.POSITIVE_INFINITY,
): string[] {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return [];
  }
  try {
    const size = Math.min(fstatSync(fd).size, end);
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString("utf8").split("\n");
    if (len < size) lines.shift(); // first line is cut
    if (lines.at(-1) === "") lines.pop();
    return maxLines === 0 ? [] : lines.slice(-maxLines);
  } finally {
    closeSync(fd);
  }
}
