// What the standalone runtime needs of a deployment beyond the server's
// model checks: a command to run (an image alone needs Kubernetes), template
// sources that exist on this host, and destinations inside the pod's working
// directory (a deployment must not write over the host's files).
import { statSync } from "node:fs";
import { isAbsolute } from "node:path";

/** Problems with the deployment for this runtime, each naming the field. */
export function standaloneProblems(input: Record<string, unknown>): string[] {
  const p: string[] = [];
  if (input.command === undefined) {
    p.push(
      "command is required: the standalone runtime runs a command (an image alone needs Kubernetes)",
    );
  }
  const hostMode = input.networkMode === undefined || input.networkMode === "HOST";
  const named = Array.isArray(input.portNames) && input.portNames.length > 0;
  if (hostMode && !named && (input.ports === undefined || input.ports === 0)) {
    p.push(
      "ports: a host-mode deployment exposes at least 1 port (the number of AUTO_PORTn its pods get); use networkMode DEFAULT for none",
    );
  }
  const templates = Array.isArray(input.templates) ? input.templates : [];
  templates.forEach((t, i) => {
    const spec = split(t);
    if (!spec) return; // malformed: the server's own check reports it
    if (!isAbsolute(spec.src)) {
      p.push(
        `templates[${i}] source ${JSON.stringify(spec.src)} must be an absolute path on this host`,
      );
    } else if (!isFile(spec.src)) {
      p.push(
        `templates[${i}] source ${JSON.stringify(spec.src)} does not exist on this host (or is not a file)`,
      );
    }
    if (isAbsolute(spec.dest) || spec.dest.split("/").includes("..")) {
      p.push(
        `templates[${i}] destination ${JSON.stringify(spec.dest)} must be a relative path inside the pod's working directory`,
      );
    }
  });
  return p;
}

function split(t: unknown): { src: string; dest: string } | null {
  if (typeof t === "string") {
    const parts = t.split(":");
    return parts.length === 2 && parts[0] && parts[1] ? { src: parts[0], dest: parts[1] } : null;
  }
  if (t && typeof t === "object") {
    const o = t as Record<string, unknown>;
    if (typeof o.src === "string" && typeof o.dest === "string" && o.src && o.dest) {
      return { src: o.src, dest: o.dest };
    }
  }
  return null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
