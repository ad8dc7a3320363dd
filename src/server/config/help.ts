// --help texts: what each setting does, its env variable, and examples.

export const SERVE_HELP = `domeos-server: the DomeOS control API for host-network pods.

Agents (domeize) report their ports here; the server writes them into the
pod's metadata.annotations (compare-and-swap, no lost update), hands out
conflict-free host ports from a per-host ledger, and manages host-mode
deployments.

Usage:
  domeos-server [flags]                  run the server
  domeos-server deploy <command> ...     manage deployments (see: domeos-server deploy --help)
  domeos-server token --pod NS/POD ...   print a pod credential (see: domeos-server token --help)
  domeos-server manifests --all          the system's Kubernetes objects (see: domeos-server manifests --help)

Flags (flag > environment > config file > default):
  --config FILE               JSON or TOML (.toml) file with the settings below   DOMEOS_CONFIG
  --listen HOST:PORT          address to serve on [127.0.0.1:8080]                 DOMEOS_LISTEN
  --data-dir DIR              embedded store and agent secret [./.data]             DOMEOS_DATA_DIR
  --cluster NAME=STORE        a cluster and its pod store (repeatable)              DOMEOS_CLUSTERS ("a=URL b=URL")
                              STORE: embedded | embedded:/dir | etcd://h:2379[,h2:2379] | http://h:2379
                              default: cluster "default" on the embedded store in --data-dir
  --etcd HOST:PORT            shorthand for --cluster default=etcd://HOST:PORT      DOMEOS_ETCD
  --secret S / --secret-file F  HMAC secret of pod credentials; replicas must share it
                              [generated once into DATA_DIR/agent-secret]          DOMEOS_SECRET
  --admin-token T             bearer token of the admin API [generated, printed]   DOMEOS_ADMIN_TOKEN
  --allow-unauthenticated-agents  accept reports without a credential, for old
                              images during migration (logged; keys and values
                              are still checked) [off]                              DOMEOS_ALLOW_UNAUTHENTICATED_AGENTS
  --port-range MIN-MAX        AUTO_PORT values and ledger range [20000-20999]       DOMEOS_PORT_RANGE
  --allow-annotation KEY      extra annotation key agents may write (repeatable,
                              comma lists ok; never deployName/accessType)          DOMEOS_ALLOW_ANNOTATIONS
  --public-url URL            DOMEOS_SERVER_ADDR given to pods [http://LISTEN]      DOMEOS_PUBLIC_URL
  --sweep-interval D          ledger sweep period [60s]                             DOMEOS_SWEEP_INTERVAL
  --external-hold D           how long a port reported busy stays out [2m]          DOMEOS_EXTERNAL_HOLD
  --pod-port-quota N          ledger ports of a pod whose spec declares no
                              NEED_PORTS and whose deployment no ports [20]         DOMEOS_POD_PORT_QUOTA
  --agent-rate R              agent writes per second per pod (0: no limit) [50]   DOMEOS_AGENT_RATE
  --agent-burst N             agent writes a pod may make at once [100]             DOMEOS_AGENT_BURST
  --request-timeout D         whole-request timeout [30s]                           DOMEOS_REQUEST_TIMEOUT
  --log-level L               debug | info | warn | error [info]                    DOMEOS_LOG_LEVEL
  --runtime process|kubernetes|none  where deployments run                     DOMEOS_RUNTIME
                              process = each replica of cluster "default" runs on
                                this host as a process through bin/domeize (pods
                                in the store, logs and working dirs in
                                DATA_DIR/pods/, console at /console/); a
                                deployment needs a command
                              kubernetes = applied through the Kubernetes API
                              none = stored, manifests only; nothing runs
                              [process; none when cluster "default" is not
                              configured or is a kubernetes: store]
  --kubeconfig FILE           for --runtime kubernetes [in-cluster, ~/.kube/config]  DOMEOS_KUBECONFIG
  --domeize-image IMG         Kubernetes manifests: image of the init container
                              that injects domeize ("" = none, the app images
                              have domeize on PATH) [domeos/domeize:0.1.0]     DOMEOS_DOMEIZE_IMAGE
  --host-ip IP                this host's address: process pods' status.hostIP
                              and podIP, what load balancers route to [127.0.0.1] DOMEOS_HOST_IP
  --drain-confirm-url URL     domeos-confd's /healthz (its -metrics-addr): a stopping
                              process pod gets SIGTERM once every resource there
                              reports appliedRevision past its removal (repeatable)
                                                               DOMEOS_DRAIN_CONFIRM_URLS
  --drain-delay DUR           the pause before SIGTERM when no confd confirms [3s]
                                                               DOMEOS_DRAIN_DELAY
  -h, --help                  this text
Durations: 500ms, 30s, 10m, 1h (a bare number is seconds).

Config file (JSON, or TOML when the name ends in .toml), e.g.:
  listen = "0.0.0.0:8080"
  portRange = "20000-20999"
  allowAnnotations = ["VERSION"]
  [clusters]
  default = "etcd://10.0.0.5:2379"

Endpoints:
  PUT  /api/agent/pod/{cluster}/{ns}/{pod}/annotation   agent report (compatible with DomeOS)
  POST /api/agent/pod/{cluster}/{ns}/{pod}/ports        port ledger (docs/ports-ledger.md)
  /api/deployments...                                   admin API (docs/server.md)
  GET  /healthz  /readyz  /metrics

Examples:
  domeos-server                                        # embedded store in ./.data, port 8080, pods run here
  domeos-server --runtime none                         # store deployments only (manifests for kubectl)
  domeos-server --etcd 127.0.0.1:2379 --listen 0.0.0.0:8080 --public-url http://10.0.0.2:8080
  DOMEOS_ADMIN_TOKEN=s3cret domeos-server --config /etc/domeos/server.toml
`;

export const DEPLOY_HELP = `domeos-server deploy: manage host-mode deployments through the admin API.

Usage:
  domeos-server deploy create NAME --command CMD [options]   # runs here (the default process runtime)
  domeos-server deploy create NAME --image IMG [options]     # --runtime kubernetes | none
  domeos-server deploy list                      deployments: ready/desired, restarts, ports, age
  domeos-server deploy status NAME               the deployment, its rollout (updated / ready / available /
                                                 old pods left) and a row per pod (ready, status, ports, revision)
  domeos-server deploy events NAME               why pods restart or are not ready (exit code, CrashLoopBackOff)
  domeos-server deploy logs NAME [--pod P] [-f] [--tail N] [--stream stdout|stderr]
  domeos-server deploy get NAME                  the stored deployment (YAML)
  domeos-server deploy scale NAME REPLICAS
  domeos-server deploy update NAME [--set F=V] [--env K=V|K-] [--command CMD] [--image IMG] [--wait]
                                                 change it; a change to what pods run rolls out
  domeos-server deploy history NAME [--revision N]   kept revisions (when, by, cause), or one's spec
  domeos-server deploy rollback NAME [--to-revision N] [--wait]   default: the revision before
  domeos-server deploy delete NAME
  domeos-server deploy manifest NAME [--format yaml|json]   # pipe into: kubectl apply -f -

Connection (every command):
  --server URL         the server [http://127.0.0.1:8080]          DOMEOS_SERVER
  --admin-token T      admin bearer token (printed at server start)  DOMEOS_ADMIN_TOKEN
  --namespace NS, -n   [default]    --cluster NAME   [default]
  -o json|yaml         machine-readable output instead of tables and messages

create options:
  --command CMD        command line (process runtime; run through /bin/sh -c)
  --image IMG          container image (Kubernetes)
  --replicas N         [1]
  --network HOST|DEFAULT   [HOST]: hostNetwork pods with AUTO_PORTn ports
  --ports N            AUTO_PORT0..N-1 ports per pod (NEED_PORTS) [1 in HOST mode, 0 otherwise]
  --ports NAME,NAME    named ports: also AUTO_PORT_NAME (e.g. --ports http,admin)
  --template SRC:DEST  config template rendered by domeize (repeatable)
  --access DIY|K8S_SERVICE  accessType annotation read by load balancers [DIY]
  --env NAME=VALUE     extra environment (repeatable)

update options (also --replicas, --ports, --template as above; the rest stays):
  --set FIELD=VALUE    any field, dotted for nested ones; VALUE is JSON when it parses
                       (--set strategy.maxSurge=2 --set progressDeadlineSeconds=60 --set image=reg/web:2)
  --env NAME=VALUE     set one variable, keeping the others; NAME- removes it (repeatable)
  --command CMD        new command line (run through /bin/sh -c)
  --wait               follow the rollout; exit 0 when Complete, 1 when Failed

Examples:
  domeos-server deploy create web --command 'python3 -m http.server $AUTO_PORT0' --replicas 3
  domeos-server deploy status web
  domeos-server deploy logs web -f
  domeos-server deploy scale web 5
  domeos-server deploy update web --env VERSION=2 --wait
  domeos-server deploy history web
  domeos-server deploy rollback web --to-revision 1
  domeos-server deploy create api --image registry/api:1 --replicas 3 --ports 2 \\
      --template /app/nginx.tmpl:/etc/nginx/nginx.conf
  domeos-server deploy manifest api | kubectl apply -f -
`;

export const TOKEN_HELP = `domeos-server token: print the credential of a pod (DOMEOS_AGENT_TOKEN).

Usage:
  domeos-server token --pod NS/POD --uid UID [--ttl D] [--cluster NAME] [SECRET]
  domeos-server token --deployment NS/NAME [--cluster NAME] [SECRET]

SECRET is the server's: --secret S, --secret-file FILE, DOMEOS_SECRET, or the
agent-secret file of --data-dir DIR (default: DOMEOS_DATA_DIR, then the server's
default). A pod token is an HMAC of cluster/namespace/pod, the pod's UID
(metadata.uid) and its expiry (--ttl, e.g. 24h; none by default) under that
secret: a later pod of the same name cannot use it. Without --uid the legacy
token bound to the name only is printed (accepted only with
--allow-unauthenticated-agents). With no secret found the command refuses
(exit 2) rather than invent one.
A deployment token (Kubernetes pods are named only after they start) writes
nothing itself: a pod whose deployName annotation names that deployment
exchanges it for its own UID-bound token (POST .../token {"uid": MY_POD_UID};
domeize does this before its first request).
`;
