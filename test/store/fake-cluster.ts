// How clients reach the FAKE apiserver (fake-apiserver.ts): a kubeconfig for
// it (YAML as kubectl writes it, for the programs that read a file: the
// server's store, confd's kubernetes backend) and the store URL with the pods
// in it. One place for the tests of the store, confd and the server.
import { writeFileSync } from "node:fs";
import type { FakeApiServer } from "./fake-apiserver.js";

/** Where the apiserver is and its bearer token (a FakeApiServer, or the address of one since stopped). */
export type ApiAddress = Pick<FakeApiServer, "url" | "token">;

export function kubeconfigYaml(api: ApiAddress): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{name: fake, cluster: {server: '${api.url}', insecure-skip-tls-verify: true}}]`,
    `users: [{name: u, user: {token: '${api.token}'}}]`,
    "contexts: [{name: fake, context: {cluster: fake, user: u}}]",
    "current-context: fake",
  ].join("\n");
}

/** The kubeconfig written to `file`; returns `file`. */
export function writeKubeconfig(api: ApiAddress, file: string): string {
  writeFileSync(file, kubeconfigYaml(api));
  return file;
}

/** A store URL with the pods in the Kubernetes API of `kubeconfig` and the rest (the ledger) in `others`. */
export function kubernetesStoreUrl(kubeconfig: string, others: string): string {
  return `kubernetes:?kubeconfig=${kubeconfig}&others=${encodeURIComponent(others)}`;
}
