// Prometheus metrics of domeos-confd (confd has none): renders, reloads,
// check failures, render errors, guard refusals, watch state and the
// change-to-file latency, per resource (its dest path).

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export class ConfdMetrics {
  readonly registry = new Registry();
  readonly renders: Counter<"resource" | "result">;
  readonly reloads: Counter<"resource" | "result">;
  readonly checkFailures: Counter<"resource">;
  readonly renderErrors: Counter<"resource">;
  readonly guardRefusals: Counter<"resource">;
  readonly lastSuccess: Gauge<"resource">;
  readonly resourceHealthy: Gauge<"resource">;
  readonly watchConnected: Gauge<"backend">;
  readonly backendRevision: Gauge<"backend">;
  readonly changeToFile: Histogram<"resource">;
  readonly renderSeconds: Histogram<"resource">;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = [this.registry];
    this.renders = new Counter({
      name: "confd_renders_total",
      help: "Template renders by result (updated, unchanged, noop, error, check_failed, guard_refused, write_failed, reload_failed)",
      labelNames: ["resource", "result"],
      registers: r,
    });
    this.reloads = new Counter({
      name: "confd_reloads_total",
      help: "reload_cmd runs by result (ok, failed)",
      labelNames: ["resource", "result"],
      registers: r,
    });
    this.checkFailures = new Counter({
      name: "confd_check_failures_total",
      help: "check_cmd failures (the old file was kept)",
      labelNames: ["resource"],
      registers: r,
    });
    this.renderErrors = new Counter({
      name: "confd_render_errors_total",
      help: "Template execution errors (the old file was kept)",
      labelNames: ["resource"],
      registers: r,
    });
    this.guardRefusals = new Counter({
      name: "confd_line_loss_refusals_total",
      help: "Renders refused because they would drop too many lines at once",
      labelNames: ["resource"],
      registers: r,
    });
    this.lastSuccess = new Gauge({
      name: "confd_last_success_timestamp_seconds",
      help: "Last render that left the destination correct",
      labelNames: ["resource"],
      registers: r,
    });
    this.resourceHealthy = new Gauge({
      name: "confd_resource_healthy",
      help: "1 when the last render attempt of the resource succeeded",
      labelNames: ["resource"],
      registers: r,
    });
    this.watchConnected = new Gauge({
      name: "confd_watch_connected",
      help: "1 while the backend view is current (watch connected)",
      labelNames: ["backend"],
      registers: r,
    });
    this.backendRevision = new Gauge({
      name: "confd_backend_revision",
      help: "Store revision the backend view reflects",
      labelNames: ["backend"],
      registers: r,
    });
    this.changeToFile = new Histogram({
      name: "confd_change_to_file_seconds",
      help: "From a backend change to the destination file updated",
      labelNames: ["resource"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.renderSeconds = new Histogram({
      name: "confd_render_seconds",
      help: "Template execution time",
      labelNames: ["resource"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
