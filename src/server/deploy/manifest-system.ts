// The system itself on Kubernetes, for `domeos-server manifests --all`:
// domeos-server (Deployment of N replicas on one store, Service,
// ServiceAccount, least-rights RBAC), the load balancer (domeos-confd + nginx
// in one pod, with its ServiceAccount and read-only RBAC and its config in a
// ConfigMap), and the Secrets (agent secret + admin token, etcd connection).
//
// Pods are read and annotated through the Kubernetes API (the kubernetes:
// store); the port ledger lives in etcd (others=), shared by the replicas.
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type {
  IClusterRole,
  IClusterRoleBinding,
  IPolicyRule,
  IRole,
  IRoleBinding,
} from "kubernetes-models/rbac.authorization.k8s.io/v1";
import type {
  IConfigMap,
  IContainer,
  IEnvVar,
  INamespace,
  ISecret,
  IService,
  IServiceAccount,
} from "kubernetes-models/v1";
import { DEFAULT_DOMEIZE_IMAGE } from "./manifest-domeize.js";
import {
  LB_CONF_DIR,
  LB_PID_FILE,
  LB_RELOAD_WAIT_SECONDS,
  type LbRoute,
  lbConfigFiles,
} from "./manifest-lb.js";

export interface SystemOptions {
  /** Where the system runs [domeos-system]. */
  namespace: string;
  /** The domeos-hostnet image (server, confd and nginx; examples/kubernetes/Dockerfile). */
  image: string;
  /** Namespaces whose deployments the server manages (write rights only there). */
  servedNamespaces: string[];
  /** etcd for the port ledger, e.g. etcd://etcd-0.etcd:2379,etcd-1.etcd:2379. */
  etcdUrl: string;
  serverReplicas: number;
  lbReplicas: number;
  /** The deployment the load balancer routes to. */
  route: LbRoute;
  /** The HMAC secret of agent credentials; every replica shares it. */
  agentSecret: string;
  adminToken: string;
  /** AUTO_PORT range, MIN-MAX. */
  portRange: string;
  /** The domeize injection image the server puts into app manifests ("" = none). */
  domeizeImage: string;
}

export const SERVER_PORT = 8080;
export const LB_PORT = 8081;
const SERVER = "domeos-server";
const CONFD = "domeos-confd";
const LB = "domeos-lb";
const SECRETS = "domeos-server";
const ETCD_SECRET = "domeos-etcd";

export function defaultSystemOptions(over: Partial<SystemOptions> = {}): SystemOptions {
  return {
    namespace: "domeos-system",
    image: "domeos/domeos-hostnet:0.1.0",
    servedNamespaces: ["default"],
    etcdUrl: "etcd://etcd.domeos-system.svc:2379",
    serverReplicas: 2,
    lbReplicas: 2,
    route: { namespace: "default", deployName: "web" },
    agentSecret: randomBytes(32).toString("hex"),
    adminToken: randomBytes(24).toString("hex"),
    portRange: "20000-20999",
    domeizeImage: DEFAULT_DOMEIZE_IMAGE,
    ...over,
  };
}

type K8sObject =
  | INamespace
  | ISecret
  | IServiceAccount
  | IClusterRole
  | IClusterRoleBinding
  | IRole
  | IRoleBinding
  | IDeployment
  | IService
  | IConfigMap;

/** Every object, in the order `kubectl apply -f` needs them (namespace and RBAC first). */
export function systemManifests(o: SystemOptions): K8sObject[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: o.namespace } },
    ...secrets(o),
    ...serverRbac(o),
    serverDeployment(o),
    serverService(o),
    ...lbRbac(o),
    lbConfigMap(o),
    lbDeployment(o),
    lbService(o),
  ];
}

const meta = (o: SystemOptions, name: string) => ({
  name,
  namespace: o.namespace,
  labels: { "app.kubernetes.io/part-of": "domeos" },
});

function secrets(o: SystemOptions): ISecret[] {
  return [
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(o, SECRETS),
      type: "Opaque",
      stringData: { "agent-secret": o.agentSecret, "admin-token": o.adminToken },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(o, ETCD_SECRET),
      type: "Opaque",
      // url: the store URL of the ledger's etcd (TLS files and user as its query);
      // password: read as ETCD_PASSWORD when the URL names a username.
      stringData: { url: o.etcdUrl, password: "" },
    },
  ];
}

const podsRead: IPolicyRule = {
  apiGroups: [""],
  resources: ["pods"],
  verbs: ["get", "list", "watch"],
};

/**
 * Reads of pods are cluster-wide (the ledger's reaper frees the ports of pods
 * deleted in any namespace); writes only in the served namespaces: pod
 * annotations (patch), and the Deployment and token Secret of each
 * deployment (server-side apply creates: create + patch; delete), and reads
 * of its ReplicaSets (rollout status and history).
 */
function serverRbac(
  o: SystemOptions,
): (IServiceAccount | IClusterRole | IClusterRoleBinding | IRole | IRoleBinding)[] {
  const sa = { kind: "ServiceAccount", name: SERVER, namespace: o.namespace };
  const writes: IPolicyRule[] = [
    { apiGroups: [""], resources: ["pods"], verbs: ["patch"] },
    {
      apiGroups: ["apps"],
      resources: ["deployments"],
      verbs: ["get", "create", "patch", "delete"],
    },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get", "create", "patch", "delete"] },
    // rollout status and history: the Deployment's ReplicaSets (kubernetes-rollout.ts)
    { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get", "list"] },
  ];
  const out: (IServiceAccount | IClusterRole | IClusterRoleBinding | IRole | IRoleBinding)[] = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(o, SERVER) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: `${SERVER}-pods-read`, labels: meta(o, "").labels },
      rules: [podsRead],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `${SERVER}-pods-read`, labels: meta(o, "").labels },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: `${SERVER}-pods-read`,
      },
      subjects: [sa],
    },
  ];
  for (const ns of o.servedNamespaces) {
    const m = { ...meta(o, SERVER), namespace: ns };
    out.push(
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: m, rules: writes },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: m,
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: SERVER },
        subjects: [sa],
      },
    );
  }
  return out;
}

const fromSecret = (name: string, secret: string, key: string, optional = false): IEnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key, ...(optional ? { optional } : {}) } },
});

const hardened = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
};

function serverDeployment(o: SystemOptions): IDeployment {
  const labels = { app: SERVER };
  const container: IContainer = {
    name: SERVER,
    image: o.image,
    command: ["/app/bin/domeos-server"],
    ports: [{ name: "http", containerPort: SERVER_PORT }],
    env: [
      { name: "DOMEOS_LISTEN", value: `0.0.0.0:${SERVER_PORT}` },
      fromSecret("DOMEOS_SECRET", SECRETS, "agent-secret"),
      fromSecret("DOMEOS_ADMIN_TOKEN", SECRETS, "admin-token"),
      fromSecret("DOMEOS_ETCD_URL", ETCD_SECRET, "url"),
      fromSecret("ETCD_PASSWORD", ETCD_SECRET, "password", true),
      // Pods through the API; the ledger (every other key) in etcd. $(VAR) is expanded by the kubelet.
      { name: "DOMEOS_CLUSTERS", value: "default=kubernetes:?others=$(DOMEOS_ETCD_URL)" },
      { name: "DOMEOS_RUNTIME", value: "kubernetes" },
      // Pods are hostNetwork with ClusterFirstWithHostNet: the Service name resolves.
      { name: "DOMEOS_PUBLIC_URL", value: `http://${SERVER}.${o.namespace}.svc:${SERVER_PORT}` },
      { name: "DOMEOS_PORT_RANGE", value: o.portRange },
      { name: "DOMEOS_DOMEIZE_IMAGE", value: o.domeizeImage },
      { name: "DOMEOS_DATA_DIR", value: "/var/lib/domeos" },
    ],
    volumeMounts: [{ name: "data", mountPath: "/var/lib/domeos" }],
    readinessProbe: {
      httpGet: { path: "/readyz", port: SERVER_PORT },
      periodSeconds: 5,
      failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: SERVER_PORT },
      periodSeconds: 10,
      failureThreshold: 6,
    },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    securityContext: { ...hardened, readOnlyRootFilesystem: true },
  };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(o, SERVER),
    spec: {
      replicas: o.serverReplicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: SERVER,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 },
          // Replicas on different nodes when there are several.
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    topologyKey: "kubernetes.io/hostname",
                    labelSelector: { matchLabels: labels },
                  },
                },
              ],
            },
          },
          containers: [container],
          volumes: [{ name: "data", emptyDir: {} }],
        },
      },
    },
  };
}

function serverService(o: SystemOptions): IService {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(o, SERVER),
    spec: {
      selector: { app: SERVER },
      ports: [{ name: "http", port: SERVER_PORT, targetPort: SERVER_PORT }],
    },
  };
}

/** confd only reads the pods of the namespace it routes (a Role there, nothing cluster-wide). */
function lbRbac(o: SystemOptions): (IServiceAccount | IRole | IRoleBinding)[] {
  const m = { ...meta(o, `${CONFD}-pods-read`), namespace: o.route.namespace };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(o, CONFD) },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: m, rules: [podsRead] },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: m,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: m.name },
      subjects: [{ kind: "ServiceAccount", name: CONFD, namespace: o.namespace }],
    },
  ];
}

function lbConfigMap(o: SystemOptions): IConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(o, LB),
    data: lbConfigFiles(o.route, LB_PORT),
  };
}

/**
 * nginx and domeos-confd in one pod sharing the process namespace, so
 * confd's reload signals the nginx master of the other container and sees
 * its workers hand over (nginx-reload-wait.sh reads them in /proc).
 */
function lbDeployment(o: SystemOptions): IDeployment {
  const labels = { app: LB };
  const mounts = [
    { name: "config", mountPath: "/etc/domeos-lb", readOnly: true },
    { name: "conf", mountPath: LB_CONF_DIR },
    { name: "run", mountPath: posix.dirname(LB_PID_FILE) },
    { name: "tmp", mountPath: "/tmp" },
  ];
  // nginx.conf next to the rendered upstream: the staged check writes its copy beside it.
  const copyConf: IContainer = {
    name: "nginx-conf",
    image: o.image,
    command: ["cp", "/etc/domeos-lb/nginx.conf", `${LB_CONF_DIR}/nginx.conf`],
    volumeMounts: mounts,
  };
  const nginx: IContainer = {
    name: "nginx",
    image: o.image,
    command: ["nginx", "-e", "stderr", "-c", `${LB_CONF_DIR}/nginx.conf`, "-g", "daemon off;"],
    ports: [{ name: "http", containerPort: LB_PORT }],
    volumeMounts: mounts,
    securityContext: hardened,
    // Ready once confd rendered the server (nginx listens nowhere before).
    readinessProbe: { httpGet: { path: "/healthz", port: LB_PORT }, periodSeconds: 5 },
    resources: { requests: { cpu: "50m", memory: "32Mi" } },
  };
  const confd: IContainer = {
    name: CONFD,
    image: o.image,
    command: [
      "/app/bin/domeos-confd",
      "-confdir",
      "/etc/domeos-lb/confd",
      "-backend",
      "kubernetes",
      "-watch",
    ],
    // the reload (nginx-reload-wait.sh) fails when nginx has not handed over by then
    env: [{ name: "RELOAD_WAIT_SECONDS", value: String(LB_RELOAD_WAIT_SECONDS) }],
    volumeMounts: mounts,
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "512Mi" } },
    securityContext: hardened,
  };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(o, LB),
    spec: {
      replicas: o.lbReplicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: CONFD,
          // One user for both: confd's reload signals the nginx master of
          // the other container (shared process namespace).
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 },
          shareProcessNamespace: true,
          initContainers: [copyConf],
          containers: [nginx, confd],
          volumes: [
            { name: "config", configMap: { name: LB, items: lbConfigItems() } },
            { name: "conf", emptyDir: {} },
            { name: "run", emptyDir: {} },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** ConfigMap keys cannot hold "/": map them to the confd layout. */
function lbConfigItems() {
  return [
    { key: "nginx.conf", path: "nginx.conf" },
    { key: "upstream.toml", path: "confd/conf.d/upstream.toml" },
    { key: "upstream.tmpl", path: "confd/templates/upstream.tmpl" },
  ];
}

function lbService(o: SystemOptions): IService {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(o, LB),
    spec: {
      type: "LoadBalancer",
      selector: { app: LB },
      ports: [{ name: "http", port: 80, targetPort: LB_PORT }],
    },
  };
}
