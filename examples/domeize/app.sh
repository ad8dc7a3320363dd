#!/bin/sh
# Example app: shows its ports and config, then serves until stopped.
echo "app on port $AUTO_PORT0 (all: $AUTO_PORTS)"
cat /etc/app/app.conf
exec sleep infinity
