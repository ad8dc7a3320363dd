// The three template benchmark cases of issue 2 §4, as gotmpl case arrays
// ({name, template, data}) that both the Go oracle (`gotmpl-ref -bench N`) and
// ours (`tools/gotmpl-cases --bench N`) execute on the same bytes.

import { rng } from "./prng.js";

export interface BenchCase {
  name: string;
  template: string;
  data: unknown;
}

const ALNUM = "bcdfghjklmnpqrstvwxz0123456789";

function word(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ALNUM[Math.floor(r() * ALNUM.length)];
  return s;
}

/** A Kubernetes v1 Pod as the API returns it (the fields templates read, plus typical bulk). */
function pod(r: () => number, i: number): unknown {
  const deploy = ["web", "api", "cache", "worker"][i % 4];
  const name = `${deploy}-v1-${word(r, 5)}`;
  const phase = r() < 0.9 ? "Running" : "Pending";
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `${word(r, 8)}-${word(r, 4)}-${word(r, 4)}-${word(r, 12)}`,
      resourceVersion: String(100000 + i),
      creationTimestamp: "2026-11-27T08:00:00Z",
      labels: { app: deploy, version: "v1", tier: i % 3 === 0 ? "frontend" : "backend" },
      annotations: {
        deployName: deploy,
        accessType: i % 5 === 0 ? "internal" : "external",
        AUTO_PORT0: String(20000 + (i % 1000)),
        deployId: String(1000 + (i % 4)),
      },
    },
    spec: {
      nodeName: `node-${i % 50}`,
      hostNetwork: true,
      restartPolicy: "Always",
      containers: [
        {
          name: deploy,
          image: `registry.example.com/${deploy}:1.${i % 7}`,
          ports: [{ containerPort: 8080, protocol: "TCP" }],
          env: [
            { name: "NEED_PORTS", value: "1" },
            { name: "NETWORK_MODE", value: "host" },
          ],
          resources: { limits: { cpu: "500m", memory: "256Mi" } },
        },
      ],
    },
    status: {
      phase,
      podIP: ip,
      hostIP: `192.168.${(i >> 8) & 255}.${i % 50}`,
      startTime: "2026-11-27T08:00:05Z",
      conditions: [
        { type: "Ready", status: phase === "Running" ? "True" : "False" },
        { type: "PodScheduled", status: "True" },
      ],
      containerStatuses: [{ name: deploy, ready: phase === "Running", restartCount: i % 3 }],
    },
  };
}

/** 10,000 pods: range, nested field access, if/and/eq, len and index. */
export function podsCase(): BenchCase {
  const r = rng(1);
  const items = Array.from({ length: 10000 }, (_, i) => pod(r, i));
  const template = `# {{len .items}} pods
{{range $i, $p := .items}}{{if and (eq $p.status.phase "Running") (eq $p.metadata.annotations.accessType "external")}}server {{$p.status.podIP}}:{{$p.metadata.annotations.AUTO_PORT0}}; # {{$p.metadata.namespace}}/{{$p.metadata.name}} on {{$p.spec.nodeName}} ({{(index $p.spec.containers 0).image}}) ready={{(index $p.status.containerStatuses 0).ready}}
{{else if eq $p.status.phase "Pending"}}# pending {{$p.metadata.name}} restarts={{(index $p.status.containerStatuses 0).restartCount}}
{{else}}# internal {{$p.metadata.labels.app}}/{{$p.metadata.labels.tier}} {{$p.status.hostIP}}
{{end}}{{end}}`;
  return { name: "pods-10000", template, data: { items } };
}

/** A small nginx.conf: 40 env vars, if, range over a map, printf "%q". */
export function nginxCase(): BenchCase {
  const env: Record<string, string> = {};
  for (let i = 0; i < 40; i++) env[`APP_VAR_${String(i).padStart(2, "0")}`] = `value-${i}-"q"\t/x`;
  const data = {
    env,
    AUTO_PORT0: "20001",
    AUTO_PORT1: "20002",
    server_name: "app.example.com",
    ssl: true,
    workers: 4,
    upstreams: { api: "10.0.0.1:20001", web: "10.0.0.2:20002", cache: "10.0.0.3:20003" },
  };
  const template = `worker_processes {{.workers}};
events { worker_connections 1024; }
http {
{{- range $name, $addr := .upstreams}}
  upstream {{$name}} { server {{$addr}}; }
{{- end}}
  server {
    listen {{.AUTO_PORT0}}{{if .ssl}} ssl{{end}};
    server_name {{.server_name}};
{{- if .ssl}}
    ssl_certificate /etc/nginx/tls/{{.server_name}}.crt;
{{- else}}
    # no tls
{{- end}}
{{- range $k, $v := .env}}
    fastcgi_param {{$k}} {{printf "%q" $v}};
{{- end}}
    location / { proxy_pass http://web; proxy_set_header X-Port {{.AUTO_PORT1}}; }
  }
}
`;
  return { name: "nginx-conf", template, data };
}

/** printf-heavy output: 1,000 lines of %-12s %15s %v %t %x. */
export function printfCase(): BenchCase {
  const r = rng(7);
  const rows = Array.from({ length: 1000 }, (_, i) => ({
    name: `svc-${word(r, 6)}`,
    host: `10.1.${(i >> 8) & 255}.${i & 255}`,
    load: Math.round(r() * 100000) / 1000,
    up: r() < 0.8,
  }));
  const template = `{{range $i, $r := .rows}}{{printf "%-12s %15s %v %t %x" $r.name $r.host $r.load $r.up $i}}
{{end}}`;
  return { name: "printf-1000", template, data: { rows } };
}
