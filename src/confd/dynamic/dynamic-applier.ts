// Dynamic endpoints for one resource: the render is split
// (split-upstreams.ts); members go to nginx's Lua endpoint (member-pusher.ts),
// the configuration without them goes through the usual stage, check,
// rename and reload, which then happens only when the configuration itself
// changes. Members are pushed first: an upstream that becomes dynamic finds
// its list in place when the reloaded workers start.

import type { OutputApplier } from "../apply/applier.js";
import { type ApplyOptions, type ApplyResult, applyOutput, checkOutput } from "../apply/stage.js";
import type { Logger } from "../log/logger.js";
import { phase } from "../log/phase-trace.js";
import type { ResourceConfig } from "../resource/resource-config.js";
import type { DynamicEndpointsConfig } from "./dynamic-config.js";
import { type DynamicStatus, MemberPusher, type PusherEvents } from "./member-pusher.js";
import { DirectiveCache, type SplitOutput, splitUpstreams } from "./split-upstreams.js";

export class DynamicApplier implements OutputApplier {
  private readonly pusher: MemberPusher;
  private readonly cfg: DynamicEndpointsConfig;
  private lastCheck: { config: string; ok: boolean } | undefined;
  private readonly directives = new DirectiveCache();

  constructor(
    private readonly res: ResourceConfig,
    log: Logger,
    events: PusherEvents,
  ) {
    if (!res.dynamicEndpoints) throw new Error(`${res.file}: no dynamic_endpoints`);
    this.cfg = res.dynamicEndpoints;
    this.pusher = new MemberPusher(this.cfg, log, events);
    this.pusher.start();
  }

  async apply(
    output: string,
    opts: ApplyOptions,
    revision: number | undefined,
  ): Promise<ApplyResult> {
    const split = splitUpstreams(output, this.cfg.upstreams, this.directives);
    phase("split");
    const bad = badMembers(split);
    if (bad)
      return { status: "check-failed", message: "Check failed: member not IP:port", output: bad };
    if (opts.noop) return applyOutput(this.res, split.config, opts);
    const lists = new Map([...split.upstreams].map(([name, u]) => [name, u.members]));
    const synced = await this.pusher.sync(lists, revision);
    phase("members synced");
    if (!synced.ok)
      return { status: "push-failed", message: `Member push failed: ${synced.error}` };
    const file = await applyOutput(this.res, split.config, opts);
    if (synced.pushed.length === 0) return file;
    const reason = `members pushed to nginx: ${synced.pushed
      .map((n) => `${n} (${lists.get(n)?.length})`)
      .join(", ")}`;
    opts.log("info", reason);
    if (file.status === "unchanged")
      return { status: "updated", reloaded: false, reasons: [reason], pushed: synced.pushed };
    if (file.status === "updated")
      return { ...file, reasons: [...file.reasons, reason], pushed: synced.pushed };
    return file;
  }

  async check(output: string, opts: ApplyOptions): Promise<boolean> {
    const split = splitUpstreams(output, this.cfg.upstreams, this.directives);
    if (badMembers(split)) return false;
    // bisection probes differ in members only: one check_cmd run per configuration
    if (this.lastCheck?.config !== split.config)
      this.lastCheck = {
        config: split.config,
        ok: (await checkOutput(this.res, split.config, opts)).ok,
      };
    return this.lastCheck.ok;
  }

  inSync(): boolean {
    return this.pusher.inSync();
  }

  status(): DynamicStatus {
    return this.pusher.status();
  }

  close(): void {
    this.pusher.close();
  }
}

/** What check_cmd output would say about members that are not IP:port, or null. */
function badMembers(split: SplitOutput): string | null {
  const lines: string[] = [];
  for (const [name, u] of split.upstreams)
    for (const b of u.bad)
      lines.push(`dynamic upstream ${name}: server ${JSON.stringify(b.server)}: ${b.error}`);
  return lines.length > 0 ? lines.join("\n") : null;
}
