// The seam to the server: its `PodRuntime` (src/server/deploy/runtime.ts)
// implemented by the standalone runtime. The server calls ensure() after
// every create/scale (and for each stored deployment when it starts) and
// remove() after a delete; stop() is ours, called when the server stops.
import type { Deployment } from "../server/deploy/model.js";
import type { DeployContext, PodRuntime } from "../server/deploy/runtime.js";
import type { StandaloneRuntime } from "./standalone-runtime.js";
import type { RuntimeDeployment } from "./types.js";

export class ProcessRuntime implements PodRuntime {
  readonly name = "process";

  constructor(readonly standalone: StandaloneRuntime) {}

  ensure(deployment: Deployment, ctx?: DeployContext): Promise<void> {
    return this.standalone.ensure(
      toRuntimeDeployment(deployment),
      ctx && { serverAddr: ctx.serverAddr, podToken: (pod) => ctx.podToken(pod) },
    );
  }

  remove(namespace: string, name: string): Promise<void> {
    return this.standalone.remove(namespace, name);
  }

  stop(): Promise<void> {
    return this.standalone.stop();
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
    templates: d.templates.map((t) => `${t.src}:${t.dest}`),
    accessType: d.accessType,
    env: d.env,
  };
}
