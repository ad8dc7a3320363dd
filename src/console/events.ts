// Live updates for the console: watch the store prefixes the console shows,
// coalesce bursts, and push one fresh snapshot to every server-sent-events
// client. The rendered upstream files are watched too (domeos-confd replaces
// them by rename, so their directories are watched), so the load-balancer
// panel follows each change as it lands. A slow refresh also picks up what
// neither records (log lines, domeos-confd's health).
import { type FSWatcher, watch } from "node:fs";
import type { ServerResponse } from "node:http";
import { basename, dirname } from "node:path";
import type { Watch } from "../store/store.js";
import { buildState, type StateSources } from "./state.js";

const WATCHED = ["/registry/pods/", "/domeos/"];
const COALESCE_MS = 100;
const REFRESH_MS = 2000;
const HEARTBEAT_MS = 15_000;

export class ConsoleEvents {
  private readonly clients = new Set<ServerResponse>();
  private watches: Watch[] = [];
  private readonly fileWatchers: FSWatcher[] = [];
  private pending: NodeJS.Timeout | null = null;
  private readonly refresh: NodeJS.Timeout;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;
  private last = "";

  constructor(private readonly src: StateSources) {
    this.refresh = setInterval(() => this.schedule(), REFRESH_MS);
    this.heartbeat = setInterval(() => this.write(": keep-alive\n\n"), HEARTBEAT_MS);
    this.refresh.unref();
    this.heartbeat.unref();
    void this.watchAll();
    this.watchRenderedFiles();
  }

  /** A change of a rendered upstream file is news (one watcher per directory). */
  private watchRenderedFiles(): void {
    const byDir = new Map<string, Set<string>>();
    for (const r of this.src.confd) {
      const names = byDir.get(dirname(r.dest)) ?? new Set<string>();
      names.add(basename(r.dest));
      byDir.set(dirname(r.dest), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, (_event, file) => {
          if (file === null || names.has(String(file))) this.schedule();
        });
        w.on("error", () => w.close()); // directory gone: the slow refresh still runs
        w.unref();
        this.fileWatchers.push(w);
      } catch {
        // not created yet or not watchable: the slow refresh covers it
      }
    }
  }

  /** Turn a response into an event stream; sends the current state at once. */
  async attach(res: ServerResponse): Promise<void> {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    res.write("retry: 1000\n\n");
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
    const state = JSON.stringify(await buildState(this.src));
    res.write(`event: state\ndata: ${state}\n\n`);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refresh);
    clearInterval(this.heartbeat);
    if (this.pending) clearTimeout(this.pending);
    for (const w of this.fileWatchers) w.close();
    await Promise.all(this.watches.map((w) => w.close().catch(() => {})));
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private async watchAll(): Promise<void> {
    try {
      for (const prefix of WATCHED) {
        // per prefix: pods and the rest may be in different stores (kubernetes:?others=)
        const rev = await this.src.store.revision(prefix);
        this.watches.push(
          await this.src.store.watch(prefix, rev + 1, {
            onEvents: () => this.schedule(),
            onError: () => this.rewatch(),
          }),
        );
      }
    } catch {
      this.rewatch();
    }
  }

  /** A watch ended (store restarted, compaction): start over after a pause. */
  private rewatch(): void {
    if (this.closed) return;
    const old = this.watches;
    this.watches = [];
    void Promise.all(old.map((w) => w.close().catch(() => {})));
    setTimeout(() => {
      if (!this.closed) void this.watchAll();
    }, 1000).unref();
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.pending || this.clients.size === 0) return;
    this.pending = setTimeout(() => void this.push(), COALESCE_MS);
  }

  private async push(): Promise<void> {
    try {
      const state = await buildState(this.src);
      // the timestamp alone changing is not news
      const body = JSON.stringify({ ...state, generatedAt: "" });
      if (body !== this.last) {
        this.last = body;
        this.write(`event: state\ndata: ${JSON.stringify(state)}\n\n`);
      }
    } catch (err) {
      this.write(
        `event: problem\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`,
      );
    } finally {
      this.pending = null;
    }
  }

  private write(chunk: string): void {
    for (const c of this.clients) c.write(chunk);
  }
}
