// confd backend `kubernetes`: pods from a Kubernetes API server through the
// server's Kubernetes store adapter, as JSON under /registry/pods/<ns>/<name>
// (the keys the seed template reads), mirrored like etcd: list, then watch;
// a key /registry/pods/<ns> reads that namespace only (kubernetes-scope.ts).
// Modern clusters keep protobuf in etcd, so reading their etcd directly
// cannot work; the API can.

import { existsSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { KubernetesStore } from "../../store/kubernetes.js";
import type { BackendOptions } from "./backend.js";
import { NamespaceScopedPods } from "./kubernetes-scope.js";
import { StoreMirror } from "./store-mirror.js";

/**
 * `-backend kubernetes [-node X]`: X is a kubeconfig file, or an API server
 * URL (TLS and basic auth from -client-ca-keys, -client-cert/-client-key,
 * -basic-auth -username -password). Without -node: in-cluster service
 * account when running in a pod, else $KUBECONFIG or ~/.kube/config.
 */
export function createKubernetesBackend(opts: BackendOptions): StoreMirror {
  if (opts.nodes.length > 1) {
    throw new Error(
      `kubernetes backend: one -node (kubeconfig or API URL), got ${opts.nodes.length}`,
    );
  }
  const kc = kubeConfigFor(opts.nodes[0], opts);
  return new StoreMirror(new NamespaceScopedPods(new KubernetesStore(kc)), {
    name: "kubernetes",
    watch: opts.watch ?? true,
    snapshotGuard: opts.snapshotGuard,
    log: opts.log,
    ownsStore: true,
  });
}

function kubeConfigFor(node: string | undefined, opts: BackendOptions): KubeConfig {
  const kc = new KubeConfig();
  const where = node === undefined ? "default kubeconfig" : `-node ${JSON.stringify(node)}`;
  try {
    if (node === undefined) {
      if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
      else kc.loadFromDefault();
    } else if (/^https?:\/\//.test(node)) {
      kc.loadFromOptions({
        // The client refuses plain http unless told to skip TLS checks (there are none).
        clusters: [
          {
            name: "confd",
            server: node,
            caFile: opts.clientCaKeys,
            skipTLSVerify: node.startsWith("http:"),
          },
        ],
        users: [
          {
            name: "confd",
            certFile: opts.clientCert,
            keyFile: opts.clientKey,
            ...(opts.basicAuth ? { username: opts.username, password: opts.password } : {}),
          },
        ],
        contexts: [{ name: "confd", cluster: "confd", user: "confd" }],
        currentContext: "confd",
      });
    } else {
      if (!existsSync(node)) throw new Error("no such kubeconfig file");
      kc.loadFromFile(node);
    }
  } catch (err) {
    throw new Error(`kubernetes backend: ${where}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(`kubernetes backend: ${where}: no current cluster`);
  }
  return kc;
}
