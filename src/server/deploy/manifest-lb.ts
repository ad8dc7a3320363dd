// The load balancer's configuration on Kubernetes (the domeos-lb ConfigMap):
// nginx.conf, and the confd resource + template that render one upstream of
// a deployment's routable pods plus the server that proxies to it.
//
// Routable, as in Kubernetes (the pod readiness contract): the Ready
// condition is True and there is no deletionTimestamp. A pod being deleted
// leaves the upstream at once; its preStop drain keeps it serving meanwhile.
// The reload returns only once nginx's new workers took over
// (examples/confd/nginx-reload-wait.sh), as in reload mode everywhere else:
// a reload confd counts as done means no old worker still takes connections
// for the pod, and one nginx does not complete in time is a failed reload
// (confd's /healthz and metrics), not a silent one, within the pod's drain.

export interface LbRoute {
  namespace: string;
  /** The deployName annotation of the pods. */
  deployName: string;
}

/** Where the rendered upstream lives (an emptyDir shared by nginx and confd). */
export const LB_CONF_DIR = "/etc/nginx/domeos-lb";
/** nginx's pid file (an emptyDir shared by nginx and confd: the reload finds the master there). */
export const LB_PID_FILE = "/run/nginx/nginx.pid";
/**
 * RELOAD_WAIT_SECONDS of the reload: how long nginx may take to hand over
 * to its new workers before the reload counts as failed. Below the app
 * pods' preStop drain (DRAIN_SECONDS, manifest-domeize.ts), leaving room for
 * the watch event, the render and the check.
 */
export const LB_RELOAD_WAIT_SECONDS = 10;
/** Where the image keeps the confd helper scripts (examples/kubernetes/Dockerfile). */
export const LB_SCRIPTS = "/app/examples/confd";
const INCLUDE_LINE = `include ${LB_CONF_DIR}/upstream*.conf;`;

export function lbNginxConf(): string {
  return `# domeos-lb: nginx for host-network pods. The one server and its upstream
# are rendered by domeos-confd into ${LB_CONF_DIR}/upstream.conf; until the
# first render nginx listens nowhere, so the pod is not Ready.
worker_processes auto;
pid ${LB_PID_FILE};
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    # Every temp path writable by uid 1000: nginx creates them all at start
    # and stops when one of the package's (/var/lib/nginx/...) cannot be.
    client_body_temp_path /tmp/nginx-body;
    proxy_temp_path /tmp/nginx-proxy;
    fastcgi_temp_path /tmp/nginx-fastcgi;
    uwsgi_temp_path /tmp/nginx-uwsgi;
    scgi_temp_path /tmp/nginx-scgi;
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
check_cmd = "${LB_SCRIPTS}/nginx-check-staged.sh ${LB_CONF_DIR}/nginx.conf '${INCLUDE_LINE}' {{.src}} -e stderr"
# Reload and return once nginx's new workers took over (nginx-reload-wait.sh):
# after that no old worker routes to a pod that left the upstream.
reload_cmd = "${LB_SCRIPTS}/nginx-reload-wait.sh ${LB_PID_FILE} -e stderr -c ${LB_CONF_DIR}/nginx.conf"
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
