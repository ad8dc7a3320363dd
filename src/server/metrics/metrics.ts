// Prometheus metrics, one registry per server instance (tests run several
// servers in one process, so nothing is registered globally).
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface LedgerUsage {
  cluster: string;
  host: string;
  used: number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"route" | "method" | "code">;
  readonly latency: Histogram<"route" | "method" | "code">;
  readonly casRetries: Counter<"cluster">;
  readonly portsAllocated: Counter<"cluster" | "host">;
  readonly portsFreed: Counter<"cluster">;

  constructor(usage: () => Promise<LedgerUsage[]>, rangeSize: number) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: "domeos_http_requests_total",
      help: "HTTP requests by route, method and response code.",
      labelNames: ["route", "method", "code"],
      registers,
    });
    this.latency = new Histogram({
      name: "domeos_http_request_duration_seconds",
      help: "HTTP request latency by route, method and response code.",
      labelNames: ["route", "method", "code"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.casRetries = new Counter({
      name: "domeos_cas_retries_total",
      help: "Compare-and-swap conflicts retried while merging pod annotations.",
      labelNames: ["cluster"],
      registers,
    });
    this.portsAllocated = new Counter({
      name: "domeos_ports_allocated_total",
      help: "Ports handed out by the ledger.",
      labelNames: ["cluster", "host"],
      registers,
    });
    this.portsFreed = new Counter({
      name: "domeos_ports_freed_total",
      help: "Ports given back (pod deleted, sweep).",
      labelNames: ["cluster"],
      registers,
    });
    // Both gauges read one ledger listing per scrape.
    let cached: { at: number; p: Promise<LedgerUsage[]> } | null = null;
    const once = () => {
      if (!cached || Date.now() - cached.at > 1000) {
        cached = { at: Date.now(), p: usage().catch(() => []) };
      }
      return cached.p;
    };
    new Gauge({
      name: "domeos_ports_in_use",
      help: "Ledger records per host (pods and external), read from the store at scrape time.",
      labelNames: ["cluster", "host"],
      registers,
      async collect() {
        this.reset();
        for (const u of await once()) this.set({ cluster: u.cluster, host: u.host }, u.used);
      },
    });
    new Gauge({
      name: "domeos_ports_free",
      help: "Free ports per host in the configured range, read from the store at scrape time.",
      labelNames: ["cluster", "host"],
      registers,
      async collect() {
        this.reset();
        for (const u of await once()) {
          this.set({ cluster: u.cluster, host: u.host }, Math.max(0, rangeSize - u.used));
        }
      },
    });
  }
}
