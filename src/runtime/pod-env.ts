// The environment of a replica: exactly what a Kubernetes pod spec from the
// server gives the container (see the server's deployment spec), so an image
// behaves the same under the standalone runtime and under Kubernetes.
import { needPortsEnv } from "../server/deploy/model.js";
import type { RuntimeDeployment } from "./types.js";

export interface PodEnvInput {
  deployment: RuntimeDeployment;
  podName: string;
  serverAddr: string;
  clusterName: string;
  token: string;
  /**
   * The server's port range, as domeize's AVAILABLE_PORT_START/END: domeize
   * accepts only ledger ports inside its range (default 20000-20999).
   */
  portRange?: { min: number; max: number };
  /** Passed through so `#!/usr/bin/env node` and the like resolve. */
  path: string;
  home: string;
}

export function podEnv(input: PodEnvInput): Record<string, string> {
  const d = input.deployment;
  const env: Record<string, string> = {
    PATH: input.path,
    HOME: input.home,
    HOSTNAME: input.podName,
    ...(d.env ?? {}),
    NETWORK_MODE: d.networkMode,
    DOMEOS_SERVER_ADDR: input.serverAddr,
    CLUSTER_NAME: input.clusterName,
    MY_POD_NAME: input.podName,
    MY_POD_NAMESPACE: d.namespace,
    DOMEOS_AGENT_TOKEN: input.token,
  };
  if (d.ports > 0) env.NEED_PORTS = needPortsEnv(d);
  if (d.ports > 0 && input.portRange) {
    env.AVAILABLE_PORT_START = String(input.portRange.min);
    env.AVAILABLE_PORT_END = String(input.portRange.max);
  }
  if (d.templates.length > 0) env.DOMEIZE_TEMPLATES = d.templates.join(",");
  return env;
}

/** domeize's argv for the deployment's command. */
export function podArgv(domeizeBin: string, command: string[] | string): string[] {
  const argv = typeof command === "string" ? ["/bin/sh", "-c", command] : command;
  // Go's flag parsing stops at "--": keeps a command starting with "-" from being read as a flag
  return argv[0]?.startsWith("-") ? [domeizeBin, "--", ...argv] : [domeizeBin, ...argv];
}
