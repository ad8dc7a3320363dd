// Kubernetes-v1-Pod-shaped JSON like the reference's (confd-golden/pods-12.json):
// 3-5 KB per pod, DomeOS annotations (deployName, accessType, AUTO_PORT0), and
// the exact upstream the seed template renders from them. Shared by the
// domeos-confd benchmark and the nginx end-to-end tests.

import { rng } from "./prng.js";

export { rng };

export interface PodSpec {
  name: string;
  podIP: string;
  /** AUTO_PORT0 annotation (a string in DomeOS; "" or undefined: none). */
  port?: string;
  deployName: string;
  accessType: string;
  phase?: string;
  /** Environment variables in the container spec: controls the size (~55 B each). */
  envVars?: number;
}

const ALNUM = "bcdfghjklmnpqrstvwxz2456789";

function word(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ALNUM[Math.floor(r() * ALNUM.length)];
  return s;
}

/** One pod as the JSON string stored in etcd. */
export function podJson(p: PodSpec, r: () => number = rng(1)): string {
  const annotations: Record<string, string> = {
    deployName: p.deployName,
    accessType: p.accessType,
    deployId: "1000",
    versionId: "1",
    "kubernetes.io/created-by": JSON.stringify({
      kind: "SerializedReference",
      apiVersion: "v1",
      reference: {
        kind: "ReplicationController",
        namespace: "default",
        name: `${p.deployName}-v1`,
      },
    }),
  };
  if (p.port !== undefined) annotations.AUTO_PORT0 = p.port;
  const env = [];
  for (let i = 0; i < (p.envVars ?? 24); i++) {
    env.push({
      name: `ENV_VAR_${i}_${word(r, 4).toUpperCase()}`,
      value: `value-${word(r, 12 + Math.floor(r() * 20))}`,
    });
  }
  const pod = {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: p.name,
      generateName: p.name.replace(/[^-]+-[^-]+$/, ""),
      namespace: "default",
      selfLink: `/api/v1/namespaces/default/pods/${p.name}`,
      uid: `${word(r, 8)}-769b-11e6-9b8e-${word(r, 12)}`,
      creationTimestamp: "2016-06-01T00:00:00Z",
      labels: { app: p.deployName, deployName: p.deployName, version: "1", hostEnv: "PROD" },
      annotations,
    },
    spec: {
      volumes: [
        {
          name: "default-token-abcde",
          secret: { secretName: "default-token-abcde", defaultMode: 420 },
        },
      ],
      containers: [
        {
          name: p.deployName,
          image: `registry.example.local/${p.deployName}:v1.0`,
          command: ["/bin/sh", "-c"],
          args: ["exec /opt/app/bin/start.sh --port=$(AUTO_PORT0)"],
          env,
          resources: {
            limits: { cpu: "2", memory: "4Gi" },
            requests: { cpu: "500m", memory: "1Gi" },
          },
          terminationMessagePath: "/dev/termination-log",
          imagePullPolicy: "IfNotPresent",
        },
      ],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      nodeName: "192.168.0.2",
      hostNetwork: true,
      securityContext: {},
    },
    status: {
      phase: p.phase ?? "Running",
      conditions: ["Initialized", "Ready", "PodScheduled"].map((type) => ({
        type,
        status: "True",
        lastProbeTime: null,
        lastTransitionTime: "2016-06-01T00:00:00Z",
      })),
      hostIP: "192.168.0.2",
      ...(p.podIP ? { podIP: p.podIP } : {}),
      startTime: "2016-06-01T00:00:00Z",
    },
  };
  return JSON.stringify(pod);
}

export interface GeneratedPod {
  key: string;
  value: string;
  spec: PodSpec;
}

/**
 * `n` pods under /registry/pods/default, about `matchShare` of them rendered
 * by the seed template; the others belong to other deployments, have another
 * accessType or no podIP yet (Pending).
 */
export function generatePods(n: number, seed = 42, matchShare = 0.5): GeneratedPod[] {
  const r = rng(seed);
  const out: GeneratedPod[] = [];
  for (let i = 0; i < n; i++) {
    const match = r() < matchShare;
    const kind = Math.floor(r() * 3);
    const deployName = match || kind !== 0 ? "img-host-test" : `svc-worker-${i % 7}`;
    const spec: PodSpec = {
      name: `${deployName}-${100000000 + Math.floor(r() * 899999999)}-${word(r, 5)}-${i}`,
      podIP: match || kind !== 2 ? `10.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}` : "",
      port: String(20000 + (i % 1000)),
      deployName,
      accessType: match || kind !== 1 ? "DIY" : "NONE",
      phase: match || kind !== 2 ? "Running" : "Pending",
      envVars: 19 + Math.floor(r() * 30),
    };
    out.push({ key: `/registry/pods/default/${spec.name}`, value: podJson(spec, r), spec });
  }
  return out;
}

/** Does the seed template render this pod? (its `if` chain) */
export function rendered(p: PodSpec): boolean {
  return (
    p.accessType !== "" &&
    p.deployName === "img-host-test" &&
    p.accessType === "DIY" &&
    p.podIP !== "" &&
    p.port !== undefined &&
    p.port !== ""
  );
}

/** Byte order of etcd keys (all ASCII here). */
const byKey = (a: GeneratedPod, b: GeneratedPod) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * The upstream the seed template renders for these pods, byte for byte
 * (reference §9): `header` is the template text before the `{{ $dir` line.
 */
export function expectedUpstream(pods: GeneratedPod[], header: string): string {
  let body = "    \n    ";
  for (const p of [...pods].sort(byKey)) {
    if (rendered(p.spec)) body += `  server ${p.spec.podIP}:${p.spec.port};\n    `;
  }
  return `${header}${body}\n\n\n}\n`;
}

/** The template text before its `{{ $dir := ...}}` line (the static header). */
export function templateHeader(template: string): string {
  const i = template.indexOf("    {{ $dir");
  if (i < 0) throw new Error("not the seed upstream template (no {{ $dir line)");
  return template.slice(0, i);
}
