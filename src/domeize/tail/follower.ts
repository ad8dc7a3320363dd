// Follows one file like `tail -F` from its current end: only new lines,
// across rotation (rename + recreate: the old file is drained first),
// truncation (restart at 0) and files created later (read from the start).
// Checks run on a poll timer and, unless -poll, also on fs.watch events of
// the parent directory, so appends show up promptly.

import { closeSync, type FSWatcher, fstatSync, openSync, readSync, statSync, watch } from "node:fs";
import { dirname } from "node:path";

export interface FollowOptions {
  readonly path: string;
  readonly out: NodeJS.WritableStream;
  readonly poll: boolean;
  readonly intervalMs?: number;
}

export class Follower {
  private fd: number | undefined;
  private ino = -1;
  private offset = 0;
  /** Bytes after the last newline (may end inside a UTF-8 sequence). */
  private partial: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private readonly buf = Buffer.alloc(64 * 1024);

  constructor(private readonly o: FollowOptions) {}

  start(): void {
    try {
      const st = statSync(this.o.path);
      this.open(st.ino, st.size); // existing file: only what is appended from now on
    } catch {
      // not there yet: picked up (from its start) when it appears
    }
    this.timer = setInterval(() => this.check(), this.o.intervalMs ?? 250);
    if (!this.o.poll) {
      try {
        this.watcher = watch(dirname(this.o.path), () => this.check());
        this.watcher.on("error", () => this.watcher?.close());
      } catch {
        // no inotify: polling alone
      }
    }
  }

  /** Final drain, then stop. */
  stop(): void {
    this.check();
    if (this.partial.length > 0) this.emit(`${this.partial.toString("utf8")}\n`);
    this.partial = Buffer.alloc(0);
    if (this.timer !== undefined) clearInterval(this.timer);
    this.watcher?.close();
    this.close();
  }

  private open(ino: number, offset: number): void {
    try {
      this.fd = openSync(this.o.path, "r");
      this.ino = ino;
      this.offset = offset;
    } catch {
      this.fd = undefined;
    }
  }

  private close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  check(): void {
    let st: { ino: number; size: number } | undefined;
    try {
      st = statSync(this.o.path);
    } catch {
      st = undefined;
    }
    if (this.fd !== undefined && (st === undefined || st.ino !== this.ino)) {
      this.drain(); // rotated away or removed: finish the old file first
      this.close();
    }
    if (this.fd === undefined && st !== undefined) this.open(st.ino, 0);
    if (this.fd === undefined) return;
    if (fstatSync(this.fd).size < this.offset) this.offset = 0; // truncated
    this.drain();
  }

  private drain(): void {
    if (this.fd === undefined) return;
    for (;;) {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      if (n <= 0) return;
      this.offset += n;
      // Cut at the last newline in bytes, so a multi-byte character split
      // across two reads is decoded whole.
      const data = Buffer.concat([this.partial, this.buf.subarray(0, n)]);
      const cut = data.lastIndexOf(10);
      if (cut < 0) {
        this.partial = data;
        continue;
      }
      this.partial = Buffer.from(data.subarray(cut + 1));
      this.emit(data.toString("utf8", 0, cut + 1));
    }
  }

  private emit(text: string): void {
    this.o.out.write(text);
  }
}
