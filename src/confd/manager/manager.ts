// Wires resources to a backend: loads the resources, starts the backend on
// the union of their keys (one consistent snapshot), keeps each resource's
// KeySpace current from the backend's changed keys, and tells the affected
// runners. A resource that fails to load is reported and skipped; the others
// keep working (confd stops everything on one bad file).

import type { Backend, BackendStatus } from "../backends/backend.js";
import type { SystemOptions } from "../funcs/index.js";
import type { Logger } from "../log/logger.js";
import { phase } from "../log/phase-trace.js";
import type { ConfdMetrics } from "../metrics/metrics.js";
import { Renderer } from "../render/renderer.js";
import { discoverResources } from "../resource/discover.js";
import {
  loadResource,
  type ResourceConfig,
  type ResourceContext,
} from "../resource/resource-config.js";
import { KeySpace } from "../template/key-space.js";
import { type ResourceHealth, ResourceRunner, type RunnerOptions } from "./resource-runner.js";

export interface ManagerOptions extends RunnerOptions {
  confdir: string;
  prefix: string;
  sys?: SystemOptions;
}

export interface Health {
  healthy: boolean;
  backend: { name: string } & BackendStatus;
  resources: ResourceHealth[];
  invalidResources: { file: string; error: string }[];
}

export class Manager {
  readonly runners: ResourceRunner[] = [];
  readonly invalid: { file: string; error: string }[] = [];
  private readonly spaces: KeySpace[] = [];
  private started = false;

  constructor(
    private readonly backend: Backend,
    private readonly opts: ManagerOptions,
    private readonly log: Logger,
    private readonly metrics?: ConfdMetrics,
  ) {}

  /** Loads every resource file; returns the valid ones. Throws only when conf.d is missing. */
  loadResources(): ResourceConfig[] {
    const ctx: ResourceContext = {
      confdir: this.opts.confdir,
      globalPrefix: this.opts.prefix,
      warn: (m) => this.log("warning", m),
    };
    const out: ResourceConfig[] = [];
    for (const file of discoverResources(this.opts.confdir)) {
      try {
        out.push(loadResource(file, ctx));
      } catch (err) {
        const error = (err as Error).message;
        this.invalid.push({ file, error });
        this.log("error", `Cannot process template resource ${error} (other resources continue)`);
      }
    }
    for (const res of out) this.addResource(res);
    return out;
  }

  addResource(res: ResourceConfig): ResourceRunner {
    const ks = new KeySpace(res.backendKeys, res.prefix);
    const runner = new ResourceRunner(
      res,
      new Renderer(res.templatePath, ks, this.opts.sys),
      this.opts,
      this.log,
      this.metrics,
    );
    runner.revisionSource = () => this.backend.status().revision;
    this.spaces.push(ks);
    this.runners.push(runner);
    return runner;
  }

  /** Starts the backend (complete snapshot) and subscribes to its changes. */
  async start(): Promise<void> {
    const prefixes = [...new Set(this.runners.flatMap((r) => r.res.backendKeys))];
    this.log(
      "info",
      `Backend source(s) set to ${this.backend.name}; keys: ${prefixes.join(", ") || "(none)"}`,
    );
    this.backend.onChange((changed) => this.onChange(changed));
    await this.backend.start(prefixes);
    const view = this.backend.view();
    for (const ks of this.spaces) ks.rebuild(view);
    phase("key spaces built");
    this.started = true;
    this.updateBackendMetrics();
  }

  private onChange(changed: string[] | null): void {
    if (!this.started) return;
    phase("change");
    const view = this.backend.view();
    this.spaces.forEach((ks, i) => {
      if (changed === null) {
        ks.rebuild(view);
        this.runners[i].notify();
      } else if (ks.update(view, changed)) {
        this.runners[i].notify();
      }
    });
    this.updateBackendMetrics();
  }

  updateBackendMetrics(): void {
    if (!this.metrics) return;
    const st = this.backend.status();
    this.metrics.watchConnected.set({ backend: this.backend.name }, st.connected ? 1 : 0);
    if (st.revision !== undefined)
      this.metrics.backendRevision.set({ backend: this.backend.name }, st.revision);
    this.metrics.snapshotHeld.set({ backend: this.backend.name }, st.held ? 1 : 0);
    if (st.holds !== undefined)
      this.metrics.snapshotHolds.set({ backend: this.backend.name }, st.holds);
  }

  /** -onetime: every resource once, in order; returns the number that failed. */
  async runOnce(): Promise<number> {
    let failed = this.invalid.length;
    for (const r of this.runners) {
      const o = await r.runOnce();
      if (!["updated", "unchanged", "noop"].includes(o.status)) failed++;
    }
    return failed;
  }

  /** Watch/interval: render everything now, then follow changes. */
  renderAll(): void {
    for (const r of this.runners) r.notify();
  }

  async idle(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.idle()));
  }

  health(): Health {
    this.updateBackendMetrics();
    const backend = { name: this.backend.name, ...this.backend.status() };
    const resources = this.runners.map((r) => r.status());
    const healthy =
      backend.connected && resources.every((r) => r.healthy) && this.invalid.length === 0;
    return { healthy, backend, resources, invalidResources: this.invalid };
  }

  async close(): Promise<void> {
    for (const r of this.runners) r.close();
    await this.backend.close();
  }
}
