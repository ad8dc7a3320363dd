// The last lines of a pod's log files, read from the end so a large log
// costs one small read.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

const TAIL_BYTES = 8192;

export function tailLines(path: string, maxLines: number): string[] {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString("utf8").split("\n");
    if (len < size) lines.shift(); // first line is cut
    if (lines.at(-1) === "") lines.pop();
    return lines.slice(-maxLines);
  } finally {
    closeSync(fd);
  }
}
