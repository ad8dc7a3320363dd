// A loopback TCP proxy in front of a real etcd, so a test can cut one
// client's connection (a network partition) while other clients keep
// writing: the only way to make a live watcher fall behind a compaction.
import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "../support/ports.js";

export class EtcdProxy {
  port = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private cut = false;
  /** Blackholed: connections stay open but nothing is forwarded (a half-open link). */
  private holding: Socket[] | null = null;

  constructor(private readonly targetPort: number) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
  }

  /** Drop every connection and refuse new ones until restore(). */
  partition(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Keep every connection open but forward nothing (no RST, no FIN) until restore(). */
  blackhole(): void {
    this.holding = [];
    for (const s of this.sockets) s.pause();
  }

  restore(): void {
    this.cut = false;
    const held = this.holding;
    this.holding = null;
    for (const s of this.sockets) s.resume();
    for (const c of held ?? []) this.accept(c);
  }

  async close(): Promise<void> {
    this.partition();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private accept(client: Socket): void {
    if (this.cut) {
      client.destroy();
      return;
    }
    if (this.holding) {
      client.pause();
      this.holding.push(client);
      return;
    }
    const upstream = connect(this.targetPort, "127.0.0.1");
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(a);
      a.on("error", () => b.destroy());
      a.on("close", () => {
        this.sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }
}
