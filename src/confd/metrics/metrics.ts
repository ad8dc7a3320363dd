// Prometheus metrics of domeos-confd (confd has none): renders, reloads,
// check failures, render errors, excluded keys, held snapshots, watch state and the
// change-to-file latency, per resource (its dest path).

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export class ConfdMetrics {
  readonly registry = new Registry();
  readonly renders: Counter<"resource" | "result">;
  readonly reloads: Counter<"resource" | "result">;
  readonly checkFailures: Counter<"resource">;
  readonly renderErrors: Counter<"resource">;
  readonly keyExclusions: Counter<"resource" | "cause">;
  readonly excludedKey: Gauge<"resource" | "key">;
  readonly snapshotHeld: Gauge<"backend">;
  readonly snapshotHolds: Gauge<"backend">;
  readonly lastSuccess: Gauge<"resource">;
  readonly resourceHealthy: Gauge<"resource">;
  readonly watchConnected: Gauge<"backend">;
  readonly backendRevision: Gauge<"backend">;
  readonly changeToFile: Histogram<"resource">;
  readonly renderSeconds: Histogram<"resource">;
  readonly memberPushes: Counter<"resource" | "upstream" | "result">;
  readonly members: Gauge<"resource" | "upstream">;
  readonly membersInSync: Gauge<"resource">;
  readonly membersPushedRevision: Gauge<"resource">;
  readonly memberRepushes: Counter<"resource" | "reason">;
  readonly changeToMembers: Histogram<"resource">;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = [this.registry];
    this.renders = new Counter({
      name: "confd_renders_total",
      help: "Template renders by result (updated, unchanged, noop, render_error, check_failed, write_failed, reload_failed)",
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
    this.keyExclusions = new Counter({
      name: "confd_key_exclusions_total",
      help: "Keys left out of the rendered view because their value broke the render (render_error) or the check (check_failed)",
      labelNames: ["resource", "cause"],
      registers: r,
    });
    this.excludedKey = new Gauge({
      name: "confd_excluded_key",
      help: "1 for each key currently left out of the rendered view (a bad pod), until its value changes",
      labelNames: ["resource", "key"],
      registers: r,
    });
    this.snapshotHeld = new Gauge({
      name: "confd_snapshot_held",
      help: "1 while a suspicious snapshot (large loss or empty read after a re-list) is held for a confirming re-read",
      labelNames: ["backend"],
      registers: r,
    });
    this.snapshotHolds = new Gauge({
      name: "confd_snapshot_holds",
      help: "Suspicious snapshots held for confirmation since start",
      labelNames: ["backend"],
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
    // dynamic endpoints (docs/nginx-dynamic.md)
    this.memberPushes = new Counter({
      name: "confd_member_pushes_total",
      help: "Member lists pushed to nginx's Lua endpoint, by upstream and result (ok, failed)",
      labelNames: ["resource", "upstream", "result"],
      registers: r,
    });
    this.members = new Gauge({
      name: "confd_members",
      help: "Members of each dynamic upstream nginx acknowledged",
      labelNames: ["resource", "upstream"],
      registers: r,
    });
    this.membersInSync = new Gauge({
      name: "confd_members_in_sync",
      help: "1 when nginx holds exactly the member lists last pushed (0: pending, stale after an nginx restart, or endpoint unreachable)",
      labelNames: ["resource"],
      registers: r,
    });
    this.membersPushedRevision = new Gauge({
      name: "confd_members_pushed_revision",
      help: "Store revision of the last complete push (nginx routes by it)",
      labelNames: ["resource"],
      registers: r,
    });
    this.memberRepushes = new Counter({
      name: "confd_member_repushes_total",
      help: "Full re-pushes because nginx lost or changed the lists (nginx_restarted, changed_elsewhere, unreachable)",
      labelNames: ["resource", "reason"],
      registers: r,
    });
    this.changeToMembers = new Histogram({
      name: "confd_change_to_members_seconds",
      help: "From a backend change to the member list acknowledged by nginx",
      labelNames: ["resource"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
