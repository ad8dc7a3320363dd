#!/bin/sh
# Check a *staged* upstream file with `nginx -t` before domeos-confd installs it.
#
#   nginx-check-staged.sh NGINX_CONF INCLUDE_LINE STAGED [NGINX_ARGS...]
#
# `nginx -t -c nginx.conf` alone checks the file that is live now, not the one
# about to replace it (a classic confd mistake: confd issues #104, #275). This
# copies NGINX_CONF next to itself with the line INCLUDE_LINE (e.g.
# "include /etc/nginx/conf.d/*.conf;") replaced by "include STAGED;", runs
# `nginx -t` on the copy and removes it. NGINX_BIN picks the nginx binary
# (not NGINX: nginx itself reads that variable for inherited sockets).
set -eu
conf=$1 line=$2 staged=$3
shift 3
tmp=$(mktemp "$(dirname "$conf")/.check-XXXXXX.conf")
trap 'rm -f "$tmp"' EXIT
# Literal replacement (no regex): awk index() on every line.
awk -v line="$line" -v repl="include $staged;" '{
  i = index($0, line)
  if (i > 0) { $0 = substr($0, 1, i - 1) repl substr($0, i + length(line)) }
  print
}' "$conf" >"$tmp"
"${NGINX_BIN:-nginx}" -t -q -c "$tmp" "$@"
