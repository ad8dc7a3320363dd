// The usage text: teaches by example, and goes to stderr like Go's.

import type { FlagSpec } from "../../goflag/flags.js";
import { FLAG_SPECS } from "./specs.js";

const HEAD = `Usage: domeize [options] [command [arguments...]]

Container entrypoint for DomeOS host networking: allocates NEED_PORTS free
host ports (AUTO_PORT0..n-1), reports them to the DomeOS server, renders
config templates, waits for dependencies, then runs the command in its place.

Examples:
  domeize -template /etc/nginx.tmpl:/etc/nginx/nginx.conf nginx -g 'daemon off;'
  domeize -template /tmpl:/etc/app -wait tcp://db:5432 -timeout 30s app --serve
  domeize -delims '<%:%>' -template app.conf.tmpl:app.conf -stdout /var/log/app.log app
  NEED_PORTS=2 DOMEIZE_TEMPLATES=a.tmpl:a.conf,b.tmpl:b.conf domeize java -jar app.jar

Options (as in Go: -flag, --flag, -flag=value or -flag value; flags end at the
first argument that is not a flag, or at "--"):
`;

const TAIL = `
Environment: NEED_PORTS, AVAILABLE_PORT_START, AVAILABLE_PORT_END (default
20000-20999), DOMEOS_SERVER_ADDR, CLUSTER_NAME, MY_POD_NAMESPACE, MY_POD_NAME,
DOMEOS_AGENT_TOKEN, DOMEIZE_TEMPLATES, NETWORK_MODE, DOMEIZE_STATE_DIR,
DOMEIZE_CONTAINER. Durations use Go syntax: 500ms, 10s, 1m30s.
See docs/domeize.md for exit codes and details.
`;

function line(spec: FlagSpec): string {
  const head = spec.arg === undefined ? `  -${spec.name}` : `  -${spec.name} ${spec.arg}`;
  const dflt = spec.defaultText === undefined ? "" : ` (default ${spec.defaultText})`;
  return `${head}\n      ${spec.usage}${dflt}\n`;
}

export function usageText(): string {
  return HEAD + FLAG_SPECS.map(line).join("") + TAIL;
}
