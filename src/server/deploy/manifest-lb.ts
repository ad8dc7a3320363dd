// The load balancer's configuration on Kubernetes (the domeos-lb ConfigMap):
// nginx.conf, and the confd resource + template that render one upstream of
// a deployment's routable pods plus the server that proxies to it.
//
// Routable, as in Kubernetes (the pod readiness contract): the Ready
// condition is True and there is no deletionTimestamp. A pod being deleted
// leaves the upstream at once; its preStop drain keeps it serving meanwhile.

export interface LbRoute {
  namespace: string;
  /** The deployName annotation of the pods. */
  deployName: string;
}

/** Where the rendered upstream lives (an emptyDir shared by nginx and confd). */
export const LB_CONF_DIR = "/etc/nginx/domeos-lb";
const INCLUDE_LINE = `include ${LB_CONF_DIR}/upstream*.conf;`;

export function lbNginxConf(): string {
  return `# domeos-lb: nginx for host-network pods. The one server and its upstream
# are rendered by domeos-confd into ${LB_CONF_DIR}/upstream.conf; until the
# first render nginx listens nowhere, so the pod is not Ready.
worker_processes auto;
pid /run/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path /tmp/nginx-body;
    proxy_temp_path /tmp/nginx-proxy;
    ${INCLUDE_LINE}
}
`;
}

export function lbResource(route: LbRoute): string {
  return `# domeos-confd resource: the upstream of ${route.namespace}/${route.deployName}.
[template]
src = "upstream.tmpl"
dest = "${LB_CONF_DIR}/upstream.conf"
keys = [
 "/registry/pods/${route.namespace}",
]
mode = "0644"
# Check the staged file, not the live one (examples/confd/nginx-check-staged.sh).
check_cmd = "/app/examples/confd/nginx-check-staged.sh ${LB_CONF_DIR}/nginx.conf '${INCLUDE_LINE}' {{.src}} -e stderr"
reload_cmd = "nginx -e stderr -s reload -c ${LB_CONF_DIR}/nginx.conf"
`;
}

/**
 * Nested ifs, like the seed template: Go's eq fails on a missing value, so
 * each field is tested for presence before it is compared.
 */
export function lbTemplate(route: LbRoute, port: number): string {
  const name = route.deployName;
  return `upstream ${name} {
    # Never chosen (down); keeps the upstream valid with no routable pod.
    server 127.0.0.1:1 down;
    keepalive 32;
{{range gets "/registry/pods/${route.namespace}/*"}}{{$p := json .Value}}{{$a := $p.metadata.annotations}}{{if $a}}{{if $a.deployName}}{{if eq $a.deployName "${name}"}}{{if $a.AUTO_PORT0}}{{if $p.status.podIP}}{{if not $p.metadata.deletionTimestamp}}{{range $p.status.conditions}}{{if eq .type "Ready"}}{{if eq .status "True"}}    server {{$p.status.podIP}}:{{$a.AUTO_PORT0}};
{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}}
server {
    listen ${port} default_server;
    location = /healthz { return 200 "ok\\n"; }
    location / {
        proxy_pass http://${name};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_next_upstream error timeout http_502 http_503;
    }
}
`;
}

/** The ConfigMap's data (keys flat; the Deployment maps them to paths). */
export function lbConfigFiles(route: LbRoute, port: number): Record<string, string> {
  return {
    "nginx.conf": lbNginxConf(),
    "upstream.toml": lbResource(route),
    "upstream.tmpl": lbTemplate(route, port),
  };
}
