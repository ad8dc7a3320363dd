// The phases, in the order the issue fixes: validate flags, env, templates
// and the command; allocate ports; report; render; wait; then exec the app
// (through the sh launcher) or run it as a child (tails, no launcher).

import { unlinkSync, writeFileSync } from "node:fs";
import type { Options } from "./cli/options.js";
import { readEnv } from "./env.js";
import { log } from "./log.js";
import { parseTemplateArg } from "./render/spec.js";
import { loadTemplates, type Staged, stageTemplates } from "./render/templates.js";
import { renderPlan } from "./run/plan.js";
import { resolveCommand } from "./run/resolve.js";
import { trace } from "./trace.js";

type Env = NodeJS.ProcessEnv;

/** Internal variables of the launcher protocol, never passed to the app. */
const INTERNAL = ["DOMEIZE_PLAN_FILE", "DOMEIZE_RESUME", "DOMEIZE_NETSCAN", "DOMEIZE_NETSCAN_PID"];

export async function prepareAndRun(opts: Options, env: Env): Promise<number> {
  trace("start");
  const cfg = readEnv(env);
  const jobs = [
    ...opts.templates.flatMap((a) => parseTemplateArg(a, "-template")),
    ...cfg.templates.flatMap((a) => parseTemplateArg(a, "DOMEIZE_TEMPLATES")),
  ];
  const loaded = await loadTemplates(jobs, opts.delims);
  trace("templates parsed");
  if (opts.command.length > 0) resolveCommand(opts.command[0], env.PATH);
  const planFile = env.DOMEIZE_PLAN_FILE || undefined;
  // The launcher's copy of /proc/net's TCP tables (bin/domeize), removed with the plan.
  const scanFile = planFile !== undefined ? env.DOMEIZE_NETSCAN || undefined : undefined;
  const exports: Record<string, string> = {};
  let staging: Promise<Staged> | undefined;
  if (cfg.needPorts > 0 && cfg.pod !== undefined) {
    const [{ allocatePorts, leaseKey }, { reportPorts }, { portsInUse, launcherTcpTables }] =
      await Promise.all([
        import("./ports/allocate.js"),
        import("./report.js"),
        import("./ports/procnet.js"),
      ]);
    // The TCP tables come from the launcher's background copy when it has
    // one (made while Node started); the rest is read here, synchronously:
    // the kernel hands /proc/net out a page per read, and on the thread pool
    // every page is a wake-up of a pool thread and of this one.
    const tcpTables =
      scanFile !== undefined ? launcherTcpTables(scanFile, scanPid(env)) : undefined;
    trace(tcpTables !== undefined ? "launcher's tcp tables read" : "no launcher tcp tables");
    const inUse = Promise.resolve(portsInUse(undefined, tcpTables));
    const requestTimeoutMs = opts.reportTimeoutMs ?? cfg.reportTimeoutMs ?? 5000;
    const reserved = await allocatePorts({
      env: cfg,
      pod: cfg.pod,
      ownerPid: planFile !== undefined ? process.ppid : process.pid,
      requestTimeoutMs,
      leaseTtlMs: cfg.leaseTtlMs,
      useLedger: cfg.useLedger,
      inUse,
    });
    trace("ports allocated");
    reserved.ports.forEach((p, i) => {
      exports[`AUTO_PORT${i}`] = String(p);
    });
    exports.AUTO_PORTS = reserved.ports.join(",");
    Object.assign(env, exports);
    log(
      `ports for ${leaseKey(cfg.pod)}: ${reserved.ports.join(" ")}${reserved.sticky > 0 ? ` (${reserved.sticky} kept from the previous start)` : ""}`,
    );
    const reporting = reportPorts(cfg.pod, reserved.ports, {
      deadlineMs: opts.reportDeadlineMs ?? cfg.reportDeadlineMs ?? 60_000,
      requestTimeoutMs,
    });
    // While the report is on its way: execute the templates and write and
    // fsync their temp files. Nothing is visible before the commit, which
    // waits for the report; a template error is raised after the report,
    // as when rendering followed it.
    staging = stageTemplates(loaded, opts.noOverwrite);
    staging.catch(() => {}); // examined below, after the report
    try {
      await reporting;
    } catch (err) {
      reserved.release(); // never reported: free them at once
      await staging.then(
        (s) => s.abort(),
        () => {},
      );
      throw err;
    }
  }
  trace("reported");
  await (await (staging ?? stageTemplates(loaded, opts.noOverwrite))).commit();
  trace("rendered");
  if (opts.waits.length > 0) {
    const { waitAll } = await import("./wait/wait.js");
    await waitAll({
      targets: opts.waits,
      headers: opts.waitHeaders,
      retryMs: opts.waitRetryMs,
      timeoutMs: opts.timeoutMs,
    });
  }
  const tails = opts.stdoutTails.length + opts.stderrTails.length > 0;
  if (planFile === undefined) return runResident(opts, env);
  // Hand over to the launcher: exec the app, or (tails) exec a resident domeize.
  const argv = tails ? [process.execPath, process.argv[1], ...process.argv.slice(2)] : opts.command;
  if (tails) exports.DOMEIZE_RESUME = "run";
  const launcherFiles = scanFile !== undefined ? [planFile, scanFile] : [planFile];
  if ((env.DOMEIZE_PLAN_FD ?? "") !== "") {
    // The launcher reads the plan through the descriptor it opened before
    // starting Node: the files can go now (no rm for the shell to run).
    writeFileSync(planFile, renderPlan({ remove: [], exports, argv }));
    for (const f of launcherFiles) {
      try {
        unlinkSync(f);
      } catch {
        // already gone; the plan itself is read through the descriptor
      }
    }
  } else {
    writeFileSync(planFile, renderPlan({ remove: launcherFiles, exports, argv }));
  }
  return 0;
}

function scanPid(env: Env): number | undefined {
  const raw = env.DOMEIZE_NETSCAN_PID ?? "";
  return /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : undefined;
}

/** Resident: run the app as a child (forwarding signals) and follow the tails. */
export async function runResident(opts: Options, env: Env): Promise<number> {
  const childEnv: Env = { ...env };
  for (const k of INTERNAL) delete childEnv[k];
  const { startTails } = await import("./tail/tails.js");
  const tails = startTails(opts);
  let code: number;
  if (opts.command.length > 0) {
    const { runChild } = await import("./run/child.js");
    code = (await runChild(opts.command, childEnv, opts.graceMs)).code;
  } else if (tails.count > 0) {
    code = await tails.untilSignal();
  } else {
    code = 0;
  }
  tails.stop();
  return code;
}
