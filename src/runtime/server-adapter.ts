// The seam to the server: its `PodRuntime` (src/server/deploy/runtime.ts)
// implemented by the standalone runtime. The server checks a new deployment
// with validate(), calls ensure() after every create/scale, resume() for
// each stored deployment when it starts, remove() after a delete, and stop()
// when it closes.
import type { Deployment } from "../server/deploy/model.js";
import { podTemplateHash } from "../server/deploy/pod-template.js";
import type { DeployContext, PodRuntime } from "../server/deploy/runtime.js";
import { standaloneProblems } from "./deployment-checks.js";
import type { PodPaths, StandaloneRuntime } from "./standalone-runtime.js";
import type { RuntimeDeployment } from "./types.js";

export class ProcessRuntime implements PodRuntime {
  readonly name = "process";
  /** The server's rollout controller replaces this runtime's pods (rollout-controller.ts). */
  readonly rollsPods = true;

  constructor(readonly standalone: StandaloneRuntime) {}

  /** A command, real template files, and (pods share one store) this runtime's cluster. */
  validate(input: Record<string, unknown>): string[] {
    const problems = standaloneProblems(input);
    const cluster = input.cluster ?? "default";
    if (typeof cluster === "string" && cluster !== this.standalone.clusterName) {
      problems.push(
        `cluster ${JSON.stringify(cluster)}: the process runtime runs the deployments of cluster ${JSON.stringify(this.standalone.clusterName)} only`,
      );
    }
    return problems;
  }

  /** Runs the deployment's replicas here; deployments that are not ours (see owns()) are left alone. */
  async ensure(deployment: Deployment, ctx?: DeployContext): Promise<void> {
    if (!this.owns(deployment)) return;
    return this.standalone.ensure(
      toRuntimeDeployment(deployment),
      ctx && { serverAddr: ctx.serverAddr, podToken: (pod, uid) => ctx.podToken(pod, uid) },
    );
  }

  /** Stored deployments of our cluster that run a command come back (same pods, same ports). */
  resume(deployment: Deployment, ctx: DeployContext): Promise<void> {
    return this.ensure(deployment, ctx);
  }

  async remove(namespace: string, name: string, deployment?: Deployment): Promise<void> {
    // another cluster's deployment of the same name must not take our pods with it
    if (deployment && deployment.cluster !== this.standalone.clusterName) return;
    return this.standalone.remove(namespace, name);
  }

  /**
   * Ours: a deployment of our cluster with a command. Others (stored under
   * another runtime: image-only, or another cluster's) validate() refuses to
   * create; scaling them only changes the stored desired state.
   */
  owns(d: Deployment): boolean {
    return d.cluster === this.standalone.clusterName && d.command !== undefined;
  }

  stop(): Promise<void> {
    return this.standalone.stop();
  }

  /** A pod's working dir and log files (the console shows the logs). */
  logPaths(namespace: string, pod: string, deployment: string) {
    return this.standalone.logFiles(namespace, pod, deployment);
  }

  paths(namespace: string, pod: string): PodPaths {
    return this.standalone.paths(namespace, pod);
  }
}

/** The server's deployment model in the runtime's shape. */
export function toRuntimeDeployment(d: Deployment): RuntimeDeployment {
  if (!d.command || d.command.length === 0) {
    throw new Error(
      `deployment ${d.namespace}/${d.name}: the standalone runtime runs commands; give "command" (an image alone needs Kubernetes)`,
    );
  }
  return {
    name: d.name,
    namespace: d.namespace,
    cluster: d.cluster,
    replicas: d.replicas,
    command: d.command,
    networkMode: d.networkMode,
    ports: d.ports,
    portNames: d.portNames,
    templates: d.templates.map((t) => `${t.src}:${t.dest}`),
    accessType: d.accessType,
    env: d.env,
    readinessProbe: d.readinessProbe,
    livenessProbe: d.livenessProbe,
    revision: d.revision ?? 1,
    templateHash: podTemplateHash(d),
    strategy: d.strategy,
    progressDeadlineSeconds: d.progressDeadlineSeconds,
  };
}
