// What an operator sees of the etcd client (docs/store.md, "The etcd
// client"): per endpoint, healthy and pinned (the one calls go to) and how
// often it was marked unhealthy; per store, failovers, retried calls,
// keepalive timeouts, resumed watches and authentications. Read from the
// clients at scrape time (no hot-path cost).

import { Counter, Gauge, type Registry } from "prom-client";
import type { EtcdClient } from "./client.js";

/** The etcd clients to report, by a label (the server's cluster name). */
export type EtcdClientSource = () => { label: string; client: EtcdClient }[];

export function registerEtcdClientMetrics(registry: Registry, source: EtcdClientSource): void {
  const registers = [registry];
  const perEndpoint = (
    name: string,
    help: string,
    value: (h: ReturnType<EtcdClient["health"]>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["cluster", "endpoint"],
      registers,
      collect() {
        this.reset();
        for (const { label, client } of source()) {
          for (const h of client.health()) {
            this.set({ cluster: label, endpoint: h.endpoint }, value(h));
          }
        }
      },
    });
  perEndpoint(
    "domeos_etcd_endpoint_healthy",
    "1 while the etcd endpoint is healthy; 0 while it is left out (failed call, unanswered keepalive ping) until a background probe succeeds.",
    (h) => (h.healthy ? 1 : 0),
  );
  perEndpoint(
    "domeos_etcd_endpoint_pinned",
    "1 for the endpoint calls go to now (moves on failover).",
    (h) => (h.pinned ? 1 : 0),
  );
  perEndpoint(
    "domeos_etcd_endpoint_failures",
    "Times the endpoint was marked unhealthy since the process started.",
    (h) => h.failures,
  );
  const total = (name: string, help: string, key: keyof EtcdClient["stats"]) =>
    new Counter({
      name,
      help,
      labelNames: ["cluster"],
      registers,
      collect() {
        this.reset();
        for (const { label, client } of source()) this.inc({ cluster: label }, client.stats[key]);
      },
    });
  total("domeos_etcd_calls_total", "Unary etcd calls made.", "calls");
  total(
    "domeos_etcd_retried_calls_total",
    "Call attempts sent again to another endpoint after the first failed.",
    "retries",
  );
  total(
    "domeos_etcd_failovers_total",
    "Times the pinned endpoint changed because it failed.",
    "failovers",
  );
  total(
    "domeos_etcd_keepalive_timeouts_total",
    "Sessions given up because a keepalive ping went unanswered (a silent endpoint).",
    "keepaliveTimeouts",
  );
  total(
    "domeos_etcd_watch_resumes_total",
    "Watches resumed on another endpoint from their next revision.",
    "watchResumes",
  );
  total(
    "domeos_etcd_authentications_total",
    "Authenticate calls (username/password: first use and expired tokens).",
    "authentications",
  );
}
