// Offline validation of Kubernetes objects against the OpenAPI schema of the
// `kubernetes-models` package (ajv validators generated from the Kubernetes
// OpenAPI spec). Unknown fields are caught at compile time instead: the
// manifest builders are typed with the same package's interfaces.
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";

// biome-ignore lint/suspicious/noExplicitAny: each model class takes its own data type
type ModelClass = new (data: any) => { validate(): void };
const MODELS: Record<string, ModelClass> = {
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "apps/v1/Deployment": Deployment,
  "apps/v1/DaemonSet": DaemonSet,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
};

export const VALIDATED_KINDS = Object.keys(MODELS);

/** Throws with the schema's messages (paths into the object) when `obj` is not a valid object of its kind. */
export function validateK8sObject(obj: unknown): void {
  const o = obj as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
  const key = `${o.apiVersion}/${o.kind}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`no schema for ${key} (add it to test/support/k8s-schema.ts)`);
  try {
    new Model(structuredClone(obj)).validate();
  } catch (err) {
    throw new Error(`${key} ${o.metadata?.name}: ${(err as Error).message}`, { cause: err });
  }
}
