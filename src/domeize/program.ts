// The phases, in the order the issue fixes: validate flags, env, templates
// and the command; allocate ports; report; render; wait; then exec the app
// (execve in the self-contained executable, through the sh launcher's plan
// under Node) or run it as a child (tails, or Node without the launcher).

import { accessSync, constants, unlinkSync, writeFileSync } from "node:fs";
import { namedPortVar } from "../auto-port/need-ports.js";
import type { Options } from "./cli/options.js";
import { readEnv } from "./env.js";
import {
  callerEnviron,
  entryName,
  INTERNAL_VARS,
  installEnviron,
  type RawEntry,
  withAdditions,
} from "./environ.js";
import { log } from "./log.js";
import { parseTemplateArg } from "./render/spec.js";
import { loadTemplates, type Staged, stageTemplates } from "./render/templates.js";
import { canExecve, execApp, inheritedFds } from "./run/execve.js";
import { envSettable, isShellName, type PlanEnvironment, renderPlan } from "./run/plan.js";
import { resolveCommand } from "./run/resolve.js";
import { trace } from "./trace.js";

type Env = NodeJS.ProcessEnv;

/** The sh launcher's side of the protocol (bin/domeize), read before process.env becomes the app's. */
interface Launcher {
  readonly planFile: string;
  readonly planFd: boolean;
  /** The launcher's copy of /proc/net's TCP tables, removed with the plan. */
  readonly scanFile: string | undefined;
  readonly scanPid: number | undefined;
}

function launcherOf(env: Env): Launcher | undefined {
  const planFile = env.DOMEIZE_PLAN_FILE || undefined;
  if (planFile === undefined) return undefined;
  return {
    planFile,
    planFd: (env.DOMEIZE_PLAN_FD ?? "") !== "",
    scanFile: env.DOMEIZE_NETSCAN || undefined,
    scanPid: scanPid(env),
  };
}

export async function prepareAndRun(opts: Options, env: Env): Promise<number> {
  trace("start");
  const inherited = canExecve() ? inheritedFds() : [];
  const launcher = launcherOf(env);
  // Under the launcher Node is its child: the launcher's environ is the caller's.
  const caller = callerEnviron(launcher !== undefined ? process.ppid : undefined, env);
  const cfg = readEnv(env);
  // The executable starts reading /proc/net now, on a worker thread, while
  // the templates are parsed here (see procnet.ts).
  const earlyScan =
    cfg.needPorts > 0 && cfg.pod !== undefined && launcher?.scanFile === undefined && canExecve()
      ? import("./ports/procnet.js").then((m) => m.portsInUseAsync())
      : undefined;
  earlyScan?.catch(() => {}); // examined at the allocation (which then reads here)
  const jobs = [
    ...opts.templates.flatMap((a) => parseTemplateArg(a, "-template")),
    ...cfg.templates.flatMap((a) => parseTemplateArg(a, "DOMEIZE_TEMPLATES")),
  ];
  const loaded = await loadTemplates(jobs, opts.delims);
  trace("templates parsed");
  const appPath = opts.command.length > 0 ? resolveCommand(opts.command[0], env.PATH) : undefined;
  const scanFile = launcher?.scanFile;
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
      scanFile !== undefined ? launcherTcpTables(scanFile, launcher?.scanPid) : undefined;
    trace(tcpTables !== undefined ? "launcher's tcp tables read" : "no launcher tcp tables");
    const inUse =
      earlyScan?.catch(() => portsInUse(undefined, tcpTables)) ??
      Promise.resolve(portsInUse(undefined, tcpTables));
    const requestTimeoutMs = opts.reportTimeoutMs ?? cfg.reportTimeoutMs ?? 5000;
    const reportDeadlineMs = opts.reportDeadlineMs ?? cfg.reportDeadlineMs ?? 60_000;
    // a Kubernetes deployment token is exchanged for the pod's own first
    const pod = cfg.pod.token?.startsWith("dpl.")
      ? await (await import("./token-exchange.js")).boundPod(cfg.pod, {
          requestTimeoutMs,
          deadlineMs: reportDeadlineMs,
        })
      : cfg.pod;
    const reserved = await allocatePorts({
      env: cfg,
      pod,
      ownerPid: launcher !== undefined ? process.ppid : process.pid,
      requestTimeoutMs,
      // Half the report's deadline at most: a pod without a hostIP yet gets
      // one within seconds; the report still has its own time after.
      ledgerRetryMs: Math.min(30_000, reportDeadlineMs / 2),
      leaseTtlMs: cfg.leaseTtlMs,
      useLedger: cfg.useLedger,
      inUse,
    });
    trace("ports allocated");
    reserved.ports.forEach((p, i) => {
      exports[`AUTO_PORT${i}`] = String(p);
    });
    cfg.portNames.forEach((name, i) => {
      exports[namedPortVar(name)] = String(reserved.ports[i]);
    });
    exports.AUTO_PORTS = reserved.ports.join(",");
    installEnviron(withAdditions(caller.entries, exports), env);
    log(
      `ports for ${leaseKey(cfg.pod)}: ${reserved.ports.join(" ")}${reserved.sticky > 0 ? ` (${reserved.sticky} kept from the previous start)` : ""}`,
    );
    const reporting = reportPorts(pod, reserved.ports, cfg.portNames, {
      deadlineMs: reportDeadlineMs,
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
  if (staging === undefined) installEnviron(caller.entries, env);
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
  const appEnviron = withAdditions(caller.entries, exports);
  if (launcher !== undefined) {
    handOver(launcher, opts, appEnviron, exports, tails);
    return 0;
  }
  if (!tails && appPath !== undefined && canExecve()) {
    trace("exec");
    return execApp(appPath, opts.command, appEnviron, inherited);
  }
  return runResident(opts, env);
}

// env(1) for the plan's exact environment; the first that exists.
const ENV_TOOLS = ["/usr/bin/env", "/bin/env"];

function envTool(): string | undefined {
  for (const p of ENV_TOOLS) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

function planEnvironment(
  appEnviron: readonly RawEntry[],
  exports: Record<string, string>,
  argv0: string | undefined,
): PlanEnvironment {
  const tool = envTool();
  // env(1) takes its first word without '=' as the command.
  if (tool !== undefined && !(argv0 ?? "").includes("=")) {
    const skipped = appEnviron.filter((e) => !envSettable(e)).length;
    if (skipped > 0) log(`${skipped} environment entries without a name are not passed to the app`);
    return { kind: "exact", tool, entries: appEnviron.filter(envSettable) };
  }
  const lost = appEnviron
    .map((e) => entryName(e).toString())
    .filter((n) => n !== "" && !isShellName(n));
  if (lost.length > 0) {
    log(
      `no env(1) at ${ENV_TOOLS.join(" or ")}: the shell cannot pass these variables to the app: ${lost.join(" ")}`,
    );
  }
  return { kind: "exports", exports };
}

/** Writes the exec plan for the launcher: exec the app, or (tails) exec a resident domeize. */
function handOver(
  launcher: Launcher,
  opts: Options,
  appEnviron: RawEntry[],
  exports: Record<string, string>,
  tails: boolean,
): void {
  const argv = tails ? [process.execPath, process.argv[1], ...process.argv.slice(2)] : opts.command;
  const additions = tails ? { ...exports, DOMEIZE_RESUME: "run" } : exports;
  const environ = tails ? withAdditions(appEnviron, { DOMEIZE_RESUME: "run" }) : appEnviron;
  const environment = planEnvironment(environ, additions, argv[0]);
  const launcherFiles =
    launcher.scanFile !== undefined ? [launcher.planFile, launcher.scanFile] : [launcher.planFile];
  if (launcher.planFd) {
    // The launcher reads the plan through the descriptor it opened before
    // starting Node: the files can go now (no rm for the shell to run).
    writeFileSync(launcher.planFile, renderPlan({ remove: [], environment, argv }));
    for (const f of launcherFiles) {
      try {
        unlinkSync(f);
      } catch {
        // already gone; the plan itself is read through the descriptor
      }
    }
  } else {
    writeFileSync(launcher.planFile, renderPlan({ remove: launcherFiles, environment, argv }));
  }
}

function scanPid(env: Env): number | undefined {
  const raw = env.DOMEIZE_NETSCAN_PID ?? "";
  return /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : undefined;
}

/**
 * The executable starts with a lazy JIT policy (scripts/build-domeize-exe.mjs:
 * a start's code runs once); a resident domeize runs for the app's life.
 */
function normalJitPolicy(): void {
  const unsafe = (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } })
    .Bun?.unsafe;
  unsafe?.setJITPolicy?.(1);
}

/** Resident: run the app as a child (forwarding signals) and follow the tails. */
export async function runResident(opts: Options, env: Env): Promise<number> {
  normalJitPolicy();
  // Signal handling first: from here on a signal is relayed to the app, or
  // cancels its start (see run/child.ts).
  const child = opts.command.length > 0 ? await import("./run/child.js") : undefined;
  const relay = child !== undefined ? new child.SignalRelay(opts.graceMs) : undefined;
  const childEnv: Env = { ...env };
  for (const k of INTERNAL_VARS) delete childEnv[k];
  const { startTails } = await import("./tail/tails.js");
  const tails = startTails(opts);
  let code: number;
  if (child !== undefined && relay !== undefined) {
    code = (await child.runChild(opts.command, childEnv, relay)).code;
  } else if (tails.count > 0) {
    code = await tails.untilSignal();
  } else {
    code = 0;
  }
  tails.stop();
  return code;
}
