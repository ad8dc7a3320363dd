// How a rendered output reaches its destination: the file way (stage,
// check, rename, reload: stage.ts), or dynamic endpoints (members pushed to
// nginx, the rest as a file: ../dynamic/dynamic-applier.ts). The runner
// schedules, isolates bad keys and records outcomes the same way for both.

import type { DynamicStatus } from "../dynamic/member-pusher.js";
import type { ResourceConfig } from "../resource/resource-config.js";
import { type ApplyOptions, type ApplyResult, applyOutput, checkOutput } from "./stage.js";

export interface OutputApplier {
  /** Apply one render; `revision` is the store revision it reflects. */
  apply(output: string, opts: ApplyOptions, revision: number | undefined): Promise<ApplyResult>;
  /** Would this render be accepted (check_cmd and, for dynamic endpoints, every member)? For bisection. */
  check(output: string, opts: ApplyOptions): Promise<boolean>;
  /** Does the live destination still hold what was applied (false: nginx lost a pushed list)? */
  inSync(): boolean;
  /** Dynamic endpoints' state for /healthz, or undefined. */
  status(): DynamicStatus | undefined;
  close(): void;
}

export class FileApplier implements OutputApplier {
  constructor(private readonly res: ResourceConfig) {}

  apply(output: string, opts: ApplyOptions): Promise<ApplyResult> {
    return applyOutput(this.res, output, opts);
  }

  async check(output: string, opts: ApplyOptions): Promise<boolean> {
    return (await checkOutput(this.res, output, opts)).ok;
  }

  inSync(): boolean {
    return true;
  }

  status(): undefined {
    return undefined;
  }

  close(): void {}
}
