// Who owns a lease or a lock, in a form that can be checked later: pid plus
// the process start time (so a reused pid is not mistaken for the owner),
// the pid namespace (pids only mean something inside one) and the boot id
// (nothing survives a reboot).

import { readFileSync, readlinkSync } from "node:fs";

export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot); "" if unknown. */
  readonly start: string;
  /** "pid:[4026531836]" or "" if unknown. */
  readonly pidns: string;
  readonly boot: string;
}

function readOr(path: string, dflt: string): string {
  try {
    return readFileSync(path, "latin1").trim();
  } catch {
    return dflt;
  }
}

export function processStart(pid: number): string | undefined {
  const stat = readOr(`/proc/${pid}/stat`, "");
  if (stat === "") return undefined;
  // The command name (field 2) may contain spaces and parentheses: skip past the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return rest[19]; // field 22 overall = index 19 after state (field 3)
}

let self: { pidns: string; boot: string } | undefined;

function selfInfo(): { pidns: string; boot: string } {
  if (self === undefined) {
    let pidns = "";
    try {
      pidns = readlinkSync("/proc/self/ns/pid");
    } catch {
      // no /proc: liveness falls back to lease age
    }
    self = { pidns, boot: readOr("/proc/sys/kernel/random/boot_id", "") };
  }
  return self;
}

export function identityOf(pid: number): ProcessIdentity {
  const info = selfInfo();
  return { pid, start: processStart(pid) ?? "", pidns: info.pidns, boot: info.boot };
}

export type Liveness = "alive" | "dead" | "unknown";

/** Whether the owner still runs; "unknown" when it lives in another pid namespace. */
export function liveness(owner: ProcessIdentity): Liveness {
  const info = selfInfo();
  if (owner.boot !== "" && info.boot !== "" && owner.boot !== info.boot) return "dead";
  if (owner.pidns === "" || owner.pidns !== info.pidns) return "unknown";
  const start = processStart(owner.pid);
  if (start === undefined) return "dead";
  return start === owner.start ? "alive" : "dead";
}
