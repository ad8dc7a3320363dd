// Drives one resource: when to render, and what to do with the result.
//
// Scheduling (consul-template's model, not confd's):
// - no wait: a change renders at once; changes that arrive during a render
//   are merged into exactly one follow-up render;
// - wait min:max: render once the data has been still for `min`, but never
//   later than `max` after the first change (quiescence);
// - a minimum interval between two reloads delays the next render;
// - a failed render, check or reload is retried with capped exponential
//   backoff, not only on the next change (confd waits for the next event).
//
// One bad pod never holds back the others (unless -freeze-on-bad-key): a key
// whose value breaks the render, or that a failed check_cmd is traced to
// (bisecting the keys changed since the last good file), is left out of the
// view until its value changes, with a log line, /healthz and a metric
// naming it; the rest applies at once.

import { Backoff } from "../../retry/backoff.js";
import { FileApplier, type OutputApplier } from "../apply/applier.js";
import { describeExit, runShell } from "../apply/shell.js";
import type { ApplyOptions, ApplyResult } from "../apply/stage.js";
import type { Wait } from "../cli/wait.js";
import { DynamicApplier } from "../dynamic/dynamic-applier.js";
import type { DynamicStatus } from "../dynamic/member-pusher.js";
import type { Logger } from "../log/logger.js";
import { phase } from "../log/phase-trace.js";
import type { ConfdMetrics } from "../metrics/metrics.js";
import { RenderError, type Renderer } from "../render/renderer.js";
import type { ResourceConfig } from "../resource/resource-config.js";
import type { ExcludedKey } from "../template/key-space.js";
import { findCulprits } from "./find-culprits.js";

export interface RunnerOptions {
  noop: boolean;
  syncOnly: boolean;
  keepStageFile: boolean;
  commandTimeoutMs: number;
  /** confd's behaviour: a bad key freezes the whole file (default: leave the key out). */
  freezeOnBadKey?: boolean;
  wait?: Wait;
  reloadMinIntervalMs: number;
  retryInitialMs?: number;
  retryMaxMs: number;
  /** Where -noop diffs go (stdout). */
  printDiff: (diff: string) => void;
}

export type Outcome = ApplyResult | { status: "render-error"; message: string; keys: string[] };

export interface ResourceHealth {
  resource: string;
  dest: string;
  healthy: boolean;
  lastAttemptAt?: number;
  lastSuccessAt?: number;
  lastOutcome?: string;
  lastError?: string;
  /** Backend keys that broke the last failed render. */
  brokenKeys?: string[];
  /** Keys left out of the rendered view (bad pods) until their value changes. */
  excludedKeys?: { key: string; reason: string; since: number }[];
  retryInMs?: number;
  /**
   * The store revision this resource's live output reflects, counted once its
   * check and reload commands returned; a resource with nothing pending is
   * current up to the backend's revision. The standalone runtime waits for
   * it before stopping a pod it took out of routing (docs/standalone.md, "Drain").
   */
  appliedRevision?: number;
  /** Dynamic endpoints: whether nginx holds the pushed member lists (docs/nginx-dynamic.md). */
  dynamicEndpoints?: DynamicStatus;
}

const FAILED = new Set([
  "render-error",
  "check-failed",
  "write-failed",
  "reload-failed",
  "push-failed",
]);

export class ResourceRunner {
  private running = false;
  private dirty = false;
  private pendingSince: number | undefined;
  private quietTimer: NodeJS.Timeout | null = null;
  private maxTimer: NodeJS.Timeout | null = null;
  private startTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAt: number | undefined;
  private lastReloadAt = 0;
  private needReload = false;
  private closed = false;
  /** The backend's revision now (the manager sets it): what a render starting now reflects. */
  revisionSource?: () => number | undefined;
  /** Backend revision when the running render started, and of the last applied one. */
  private renderRevision: number | undefined;
  private appliedRevision: number | undefined;
  /** KeySpace version of the last render that left the destination correct. */
  private goodVersion: number | undefined;
  private templateGeneration = 0;
  /** KeySpace version the last rendered output reflects. */
  private renderedVersion = 0;
  /** Excluded keys the metrics currently name. */
  private excludedInMetrics = new Set<string>();
  private readonly backoff: Backoff;
  private readonly health: ResourceHealth;
  /** Where renders go: a file, or members pushed to nginx plus a file (dynamic endpoints). */
  private readonly applier: OutputApplier;
  private readonly idleWaiters: (() => void)[] = [];
  /** Every outcome, for tests and the onetime exit status. */
  readonly outcomes: Outcome[] = [];
  renders = 0;

  constructor(
    readonly res: ResourceConfig,
    private readonly renderer: Renderer,
    private readonly opts: RunnerOptions,
    private readonly log: Logger,
    private readonly metrics?: ConfdMetrics,
  ) {
    this.backoff = new Backoff({ initialMs: opts.retryInitialMs ?? 500, maxMs: opts.retryMaxMs });
    this.health = { resource: res.file, dest: res.dest, healthy: true };
    this.applier = res.dynamicEndpoints ? this.dynamicApplier() : new FileApplier(res);
  }

  private dynamicApplier(): OutputApplier {
    const resource = this.res.dest;
    const m = this.metrics;
    return new DynamicApplier(this.res, this.log, {
      // nginx lost or changed a list: render and push again (every list in full)
      onStale: () => {
        m?.membersInSync.set({ resource }, 0);
        this.notify();
      },
      onPush: (upstream, result, members) => {
        m?.memberPushes.inc({ resource, upstream, result });
        if (result === "ok") m?.members.set({ resource, upstream }, members);
        else m?.membersInSync.set({ resource }, 0);
      },
      onRepush: (reason) => m?.memberRepushes.inc({ resource, reason }),
    });
  }

  /**
   * Quiescence: not for dynamic endpoints, whose member changes cost no
   * reload (a push must not wait); reload_min_interval still spaces reloads.
   */
  private get wait(): Wait | undefined {
    if (this.res.dynamicEndpoints) return undefined;
    return this.res.wait ?? this.opts.wait;
  }

  private get reloadMinIntervalMs(): number {
    return this.res.reloadMinIntervalMs ?? this.opts.reloadMinIntervalMs;
  }

  /** The resource's data changed (or: render it now, at start). */
  notify(): void {
    if (this.closed) return;
    this.pendingSince ??= Date.now();
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.arm();
  }

  status(): ResourceHealth {
    const excluded = this.renderer.keySpace.excludedKeys();
    const dynamic = this.applier.status();
    return {
      ...this.health,
      // nginx lost the pushed lists (restart, outage): not healthy until they are back
      healthy: this.health.healthy && this.applier.inSync(),
      dynamicEndpoints: dynamic,
      excludedKeys:
        excluded.length > 0
          ? excluded.map((e) => ({ key: e.raw, reason: e.reason, since: e.since }))
          : undefined,
      retryInMs: this.retryAt ? Math.max(0, this.retryAt - Date.now()) : undefined,
      appliedRevision: this.currentAppliedRevision(),
    };
  }

  /** Idle and healthy: nothing the backend saw is left to apply, so current up to its revision. */
  private currentAppliedRevision(): number | undefined {
    const now = this.revisionSource?.();
    const settled =
      !this.busy() &&
      !this.dirty &&
      !this.needReload &&
      this.retryTimer === null &&
      this.health.healthy &&
      this.applier.inSync();
    if (now !== undefined && settled) return Math.max(this.appliedRevision ?? 0, now);
    return this.appliedRevision;
  }

  /** Resolves when no render is running or scheduled (retries excluded). */
  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private busy(): boolean {
    return (
      this.running || this.quietTimer !== null || this.maxTimer !== null || this.startTimer !== null
    );
  }

  close(): void {
    this.closed = true;
    this.applier.close();
    for (const t of [this.quietTimer, this.maxTimer, this.startTimer, this.retryTimer])
      if (t) clearTimeout(t);
    this.quietTimer = this.maxTimer = this.startTimer = this.retryTimer = null;
    this.wakeIdle();
  }

  /** Render and apply once, now (onetime mode and tests). */
  async runOnce(): Promise<Outcome> {
    this.pendingSince ??= Date.now();
    return this.execute();
  }

  private arm(): void {
    const wait = this.wait;
    if (!wait) {
      this.startAfterReloadInterval();
      return;
    }
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.fireWait(), wait.minMs);
    if (!this.maxTimer) this.maxTimer = setTimeout(() => this.fireWait(), wait.maxMs);
  }

  private fireWait(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    this.quietTimer = this.maxTimer = null;
    this.startAfterReloadInterval();
  }

  private startAfterReloadInterval(): void {
    if (this.startTimer) return;
    const delay = Math.max(0, this.lastReloadAt + this.reloadMinIntervalMs - Date.now());
    // setImmediate-like: changes delivered in the same tick render together.
    this.startTimer = setTimeout(() => {
      this.startTimer = null;
      void this.loop();
    }, delay);
  }

  private async loop(): Promise<void> {
    if (this.running || this.closed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt = undefined;
    this.running = true;
    let outcome: Outcome;
    try {
      outcome = await this.execute();
    } finally {
      this.running = false;
    }
    if (this.closed) return this.wakeIdle();
    if (this.dirty) {
      this.dirty = false;
      this.arm();
    } else if (FAILED.has(outcome.status)) {
      this.scheduleRetry();
    }
    if (!this.busy()) this.wakeIdle();
  }

  private scheduleRetry(): void {
    const delay = this.backoff.next();
    this.retryAt = Date.now() + delay;
    this.health.retryInMs = delay;
    this.log("info", `${this.res.dest}: retrying in ${delay} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.pendingSince ??= Date.now();
      this.startAfterReloadInterval();
    }, delay);
  }

  private wakeIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async execute(): Promise<Outcome> {
    this.renderRevision = this.revisionSource?.();
    const changeAt = this.pendingSince;
    this.pendingSince = undefined;
    this.health.lastAttemptAt = Date.now();
    const label = { resource: this.res.dest };
    let reloadFailure: ApplyResult | undefined;
    if (this.needReload) {
      // The last reload failed after the file was replaced: reload first, then
      // render as usual. A reload that still fails must not hold back new data:
      // the new file is applied anyway (its own reload is tried and reported).
      const r = await this.retryReload();
      if (r.status === "updated") {
        this.needReload = false;
        this.lastReloadAt = Date.now();
        this.metrics?.reloads.inc({ ...label, result: "ok" });
        this.log("info", `${this.res.dest}: reload succeeded on retry`);
      } else {
        reloadFailure = r;
      }
    }
    const rendered = this.renderIsolating();
    if (typeof rendered !== "string") return this.record(rendered, changeAt);
    let output = rendered;
    const applyOpts: ApplyOptions = {
      noop: this.opts.noop,
      syncOnly: this.opts.syncOnly,
      keepStageFile: this.opts.keepStageFile,
      commandTimeoutMs: this.opts.commandTimeoutMs,
      log: this.log,
    };
    const revision = this.renderRevision;
    let result = await this.applier.apply(output, applyOpts, revision);
    if (result.status === "check-failed" && !this.opts.freezeOnBadKey) {
      const retried = await this.traceCheckFailure(result, applyOpts);
      if (retried !== null) {
        output = retried;
        result = await this.applier.apply(output, applyOpts, revision);
      }
    }
    phase(`applied (${result.status})`);
    // Nothing new to apply: the failed reload is still the outcome to report and retry.
    if (reloadFailure && result.status === "unchanged") return this.record(reloadFailure, changeAt);
    return this.record(result, changeAt);
  }

  /** At most this many keys are left out (more is a broken template or store, not a bad pod). */
  private maxExcluded(): number {
    const ks = this.renderer.keySpace;
    return Math.max(1, Math.floor((ks.size + ks.excludedCount) * 0.25));
  }

  /**
   * Render; a key whose value breaks the render is left out and the render
   * repeated (unless freezing). A template that changed on disk gets every
   * excluded key back first (its fix may be what they needed).
   */
  private renderIsolating(): string | Outcome {
    const ks = this.renderer.keySpace;
    const label = { resource: this.res.dest };
    const excludedNow: string[] = [];
    // Logged once the render succeeds: exclusions reverted by a freeze were never in effect.
    const notes: { keys: string[]; why: string }[] = [];
    for (;;) {
      const t0 = performance.now();
      try {
        const out = this.renderer.render();
        this.renders++;
        phase("rendered");
        if (this.renderer.generation !== this.templateGeneration) {
          this.templateGeneration = this.renderer.generation;
          if (ks.excludedCount > 0 && excludedNow.length === 0) {
            for (const e of ks.excludedKeys()) ks.include(e.raw);
            this.log("info", `${this.res.dest}: template changed: excluded keys are tried again`);
            continue;
          }
        }
        this.renderedVersion = ks.version;
        for (const n of notes) this.noteExcluded(n.keys, "render_error", n.why);
        return out;
      } catch (err) {
        const keys = err instanceof RenderError ? err.keys : [];
        const message = (err as Error).message;
        this.metrics?.renderErrors.inc(label);
        const excluded = this.opts.freezeOnBadKey
          ? []
          : keys.filter((k) => ks.exclude(k, `render error: ${message}`));
        if (excluded.length === 0 || ks.excludedCount > this.maxExcluded()) {
          for (const k of excluded) ks.include(k);
          for (const k of excludedNow) ks.include(k);
          this.log(
            "error",
            `${this.res.dest}: render failed, keeping the last good file: ${message}`,
          );
          return { status: "render-error", message, keys };
        }
        excludedNow.push(...excluded);
        notes.push({ keys: excluded, why: `render error: ${message}` });
      } finally {
        this.metrics?.renderSeconds.observe(label, (performance.now() - t0) / 1000);
      }
    }
  }

  /**
   * check_cmd refused the render: find the keys at fault among those changed
   * since the last good file (every key when there is none) by bisection,
   * leave them out, and return the render without them; null when the
   * failure is not the keys' (it then freezes, as confd).
   */
  private async traceCheckFailure(
    failed: { message: string; output: string },
    applyOpts: ApplyOptions,
  ): Promise<string | null> {
    const ks = this.renderer.keySpace;
    const changed = this.goodVersion === undefined ? null : ks.rawChangesSince(this.goodVersion);
    const candidates = changed ?? ks.rawKeys();
    this.log(
      "error",
      `${this.res.dest}: ${failed.message}; tracing it to the ${candidates.length} key(s) changed since the last good file. Output: ${JSON.stringify(failed.output)}`,
    );
    const passes = async (hidden: readonly string[]): Promise<boolean> => {
      const out = hidden.filter((k) => ks.exclude(k, "probe"));
      try {
        const text = this.renderer.render();
        return await this.applier.check(text, applyOpts);
      } catch {
        return false;
      } finally {
        for (const k of out) ks.include(k);
      }
    };
    const room = this.maxExcluded() - ks.excludedCount;
    const found = await findCulprits(room > 0 ? candidates : [], passes, {
      maxCulprits: room,
      maxProbes: 64,
      // Tracing must not hold the resource much longer than one slow check would.
      deadline: Date.now() + Math.max(10_000, 2 * this.opts.commandTimeoutMs),
    });
    if (found === null) {
      this.log(
        "error",
        `${this.res.dest}: the failed check is not traced to the ${candidates.length} changed key(s): freezing the file`,
      );
      return null;
    }
    const reason = `check failed: ${firstLine(failed.output) || failed.message}`;
    const excluded = found.culprits.filter((k) => ks.exclude(k, reason));
    this.noteExcluded(excluded, "check_failed", `${reason} (traced in ${found.probes} checks)`);
    const again = this.renderIsolating();
    return typeof again === "string" ? again : null;
  }

  private noteExcluded(keys: readonly string[], cause: string, why: string): void {
    for (const k of keys) {
      this.log(
        "error",
        `${this.res.dest}: leaving ${k} out of the rendered view: ${why} (the other keys apply; it is tried again when its value changes)`,
      );
    }
    this.metrics?.keyExclusions.inc({ resource: this.res.dest, cause }, keys.length);
  }

  /** The metric names exactly the keys excluded now. */
  private syncExcludedMetrics(excluded: readonly ExcludedKey[]): void {
    const m = this.metrics;
    if (!m) return;
    const now = new Set(excluded.map((e) => e.raw));
    for (const k of this.excludedInMetrics)
      if (!now.has(k)) m.excludedKey.remove({ resource: this.res.dest, key: k });
    for (const k of now) m.excludedKey.set({ resource: this.res.dest, key: k }, 1);
    this.excludedInMetrics = now;
  }

  private async retryReload(): Promise<ApplyResult> {
    const r = await runShell(this.res.reloadCmd, this.opts.commandTimeoutMs);
    if (!r.ok)
      return {
        status: "reload-failed",
        message: `Reload failed: ${describeExit(r, this.opts.commandTimeoutMs)}`,
        output: r.output,
      };
    return { status: "updated", reloaded: true, reasons: ["reload retried"] };
  }

  private record(o: Outcome, changeAt: number | undefined): Outcome {
    this.outcomes.push(o);
    if (this.outcomes.length > 100) this.outcomes.shift();
    const label = { resource: this.res.dest };
    const result = o.status.replace("-", "_");
    this.metrics?.renders.inc({ ...label, result });
    const now = Date.now();
    this.health.lastOutcome = o.status;
    this.syncExcludedMetrics(this.renderer.keySpace.excludedKeys());
    switch (o.status) {
      case "updated":
        this.needReload = false;
        if (o.reloaded) {
          this.lastReloadAt = now;
          this.metrics?.reloads.inc({ ...label, result: "ok" });
        }
        if (changeAt !== undefined && o.pushed)
          this.metrics?.changeToMembers.observe(label, (now - changeAt) / 1000);
        else if (changeAt !== undefined)
          this.metrics?.changeToFile.observe(label, (now - changeAt) / 1000);
        this.log("info", `Target config ${this.res.dest} has been updated`);
        return this.succeed(o, now);
      case "unchanged":
      case "noop":
        if (o.status === "noop" && o.diff) this.opts.printDiff(o.diff);
        return this.succeed(o, now);
      case "check-failed":
        this.metrics?.checkFailures.inc(label);
        this.log(
          "error",
          `${this.res.dest}: ${o.message}; keeping the old file. Output: ${JSON.stringify(o.output)}`,
        );
        return this.fail(o, o.message, []);
      case "reload-failed":
        // The new file is in place; retry the reload itself until it works.
        this.needReload = true;
        this.lastReloadAt = now;
        this.metrics?.reloads.inc({ ...label, result: "failed" });
        this.log("error", `${this.res.dest}: ${o.message}. Output: ${JSON.stringify(o.output)}`);
        return this.fail(o, o.message, []);
      case "write-failed":
      case "push-failed":
        this.log("error", `${this.res.dest}: ${o.message}`);
        return this.fail(o, o.message, []);
      case "render-error":
        return this.fail(o, o.message, o.keys);
    }
  }

  private succeed(o: Outcome, now: number): Outcome {
    const dyn = this.applier.status();
    if (dyn) {
      this.metrics?.membersInSync.set({ resource: this.res.dest }, this.applier.inSync() ? 1 : 0);
      if (dyn.pushedRevision !== undefined)
        this.metrics?.membersPushedRevision.set({ resource: this.res.dest }, dyn.pushedRevision);
    }
    if (this.renderRevision !== undefined)
      this.appliedRevision = Math.max(this.appliedRevision ?? 0, this.renderRevision);
    if (o.status !== "noop") this.goodVersion = this.renderedVersion;
    this.backoff.reset();
    this.health.healthy = true;
    this.health.lastSuccessAt = now;
    this.health.lastError = undefined;
    this.health.brokenKeys = undefined;
    this.health.retryInMs = undefined;
    this.metrics?.resourceHealthy.set({ resource: this.res.dest }, 1);
    this.metrics?.lastSuccess.set({ resource: this.res.dest }, now / 1000);
    return o;
  }

  private fail(o: Outcome, message: string, keys: string[]): Outcome {
    this.health.healthy = false;
    this.health.lastError = message;
    this.health.brokenKeys = keys.length > 0 ? keys : undefined;
    this.metrics?.resourceHealthy.set({ resource: this.res.dest }, 0);
    return o;
  }
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.trim() ?? "";
}
