#!/bin/sh
# Reload nginx and return only once the new configuration is the one taking
# connections.
#
#   nginx-reload-wait.sh PIDFILE [NGINX_ARGS...]
#
# `nginx -s reload` only sends SIGHUP to the master and returns: the master
# then parses the configuration, starts new workers and only after that tells
# the old workers to stop accepting. Until then the old workers still take
# new connections and route them with the old upstream. On a loaded machine
# that can last well over a second, so a reload_cmd that returns at once
# makes domeos-confd's appliedRevision (what the runtime's drain waits for
# before SIGTERM) claim a pod is out of routing while nginx still sends it
# requests. This waits until every worker that was accepting before the
# reload is gone or "shutting down" (nginx retitles a worker right before it
# closes its listening sockets) and a new worker runs; it fails after
# RELOAD_WAIT_SECONDS (default 10) when nginx keeps the old workers (a
# configuration it refused: see its error log). NGINX_BIN picks the nginx
# binary (not NGINX: nginx itself reads that variable for inherited sockets).
set -eu
pidfile=$1
shift
master=$(cat "$pidfile")

# The master's worker processes still accepting connections.
accepting() {
  kids=$(cat "/proc/$master/task/$master/children" 2>/dev/null || ps -o pid= --ppid "$master")
  for p in $kids; do
    title=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
    case $title in
    *"worker process is shutting down"*) ;;
    *"worker process"*) echo "$p" ;;
    esac
  done
}

old=" $(accepting | tr '\n' ' ') "
"${NGINX_BIN:-nginx}" -s reload "$@"

limit=$((${RELOAD_WAIT_SECONDS:-10} * 50)) # polls of 20 ms
n=0
while :; do
  stale=0 fresh=0
  for p in $(accepting); do
    case $old in
    *" $p "*) stale=1 ;;
    *) fresh=1 ;;
    esac
  done
  [ "$stale" = 0 ] && [ "$fresh" = 1 ] && exit 0
  n=$((n + 1))
  if [ "$n" -ge "$limit" ]; then
    echo "nginx-reload-wait: nginx (master $master) still runs the workers from before the reload after ${RELOAD_WAIT_SECONDS:-10} s: the new configuration is not in use (see nginx's error log)" >&2
    exit 1
  fi
  sleep 0.02
done
