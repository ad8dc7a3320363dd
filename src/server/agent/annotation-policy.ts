// What an agent may write into its pod's annotations. The annotations feed
// generated load-balancer configs (nginx upstreams), so every key is on an
// allow-list and every value is checked: nothing here can inject config.

import { NAMED_PORT_KEY } from "../../auto-port/need-ports.js";
import { jsonKind } from "../http/body.js";
import { badRequest, forbidden } from "../http/errors.js";

export interface PortRange {
  min: number;
  max: number;
}

export interface AnnotationPolicy {
  portRange: PortRange;
  /** Extra keys operators allow (exact names); never deployName/accessType. */
  extraKeys: readonly string[];
}

/** Keys the server owns; no agent may write them, whatever the config says. */
export const RESERVED_KEYS: readonly string[] = ["deployName", "accessType"];

/** AUTO_PORT<n>, or AUTO_PORT<n>_<container> / AUTO_PORT<n>.<container> (container: a DNS-1123 label). */
const PORT_KEY = /^AUTO_PORT(0|[1-9][0-9]{0,3})([_.][a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$/;
/** AUTO_PORTS, AUTO_PORTS_<container> or AUTO_PORTS.<container>: comma-separated list of ports. */
const PORTS_KEY = /^AUTO_PORTS([_.][a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$/;
/** Values of operator-allowed extra keys: no quotes, braces, semicolons, spaces or control characters. */
const SAFE_VALUE = /^[A-Za-z0-9._:/=@,+-]*$/;
const MAX_KEYS = 256;
const MAX_EXTRA_VALUE = 1024;

/** Validate a configured extra-key list (at startup). */
export function checkExtraKeys(keys: readonly string[]): void {
  for (const k of keys) {
    if (RESERVED_KEYS.includes(k)) {
      throw new Error(
        `annotation key ${JSON.stringify(k)} is reserved for the server and cannot be allowed for agents`,
      );
    }
    if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k) || k.length > 63) {
      throw new Error(`allowed annotation key ${JSON.stringify(k)} is not a valid annotation name`);
    }
  }
}

/**
 * Check an agent's annotation patch; returns it typed as string values.
 * Throws 400 for malformed values, 403 for keys an agent may not write.
 */
export function validateAnnotationPatch(
  body: Record<string, unknown>,
  policy: AnnotationPolicy,
): Record<string, string> {
  const keys = Object.keys(body);
  if (keys.length > MAX_KEYS)
    throw badRequest(`too many annotations: ${keys.length} (at most ${MAX_KEYS})`);
  const out: Record<string, string> = {};
  for (const key of keys) {
    const value = body[key];
    if (typeof value !== "string") {
      throw badRequest(
        `annotation ${JSON.stringify(key)} must be a JSON string, got ${jsonKind(value)}`,
      );
    }
    checkEntry(key, value, policy);
    out[key] = value;
  }
  checkNamedPorts(out);
  return out;
}

/**
 * A named port (AUTO_PORT_HTTP[.container]) is another name of one of the
 * container's AUTO_PORTn in the same report, so the ledger check of those
 * covers it: a name cannot point at a port the pod was not given.
 */
function checkNamedPorts(patch: Record<string, string>): void {
  for (const [key, value] of Object.entries(patch)) {
    const m = NAMED_PORT_KEY.exec(key);
    if (!m) continue;
    const container = m[2]?.slice(1) ?? "";
    const indexed = Object.entries(patch).filter(([k]) => {
      const p = PORT_KEY.exec(k);
      return p !== null && (p[2]?.slice(1) ?? "") === container;
    });
    if (!indexed.some(([, v]) => v === value)) {
      throw badRequest(
        `annotation ${key}=${JSON.stringify(value)} names no AUTO_PORT<n>${container ? ` of container ${container}` : ""} of the same report (report a named port with its indexed ports)`,
      );
    }
  }
}

function checkEntry(key: string, value: string, policy: AnnotationPolicy): void {
  if (RESERVED_KEYS.includes(key)) {
    throw forbidden(
      `annotation ${JSON.stringify(key)} is owned by the server; agents may not change it`,
    );
  }
  if (PORT_KEY.test(key)) {
    checkPort(key, value, policy.portRange);
  } else if (NAMED_PORT_KEY.test(key)) {
    checkPort(key, value, policy.portRange);
  } else if (PORTS_KEY.test(key)) {
    checkPortList(key, value, policy.portRange);
  } else if (policy.extraKeys.includes(key)) {
    if (value.length > MAX_EXTRA_VALUE || !SAFE_VALUE.test(value)) {
      throw badRequest(
        `annotation ${JSON.stringify(key)} has an unsafe value ${JSON.stringify(value.slice(0, 80))}: allowed are letters, digits and . _ : / = @ , + - (at most ${MAX_EXTRA_VALUE} characters)`,
      );
    }
  } else {
    throw forbidden(
      `annotation key ${JSON.stringify(key)} is not allowed: agents may write AUTO_PORT<n>, AUTO_PORT<n>_<container> (or .<container>), AUTO_PORT_<NAME>[.<container>], AUTO_PORTS${policy.extraKeys.length ? ` and ${policy.extraKeys.join(", ")}` : ""}`,
    );
  }
}

function checkPort(key: string, value: string, range: PortRange): void {
  if (!/^[1-9][0-9]{0,4}$/.test(value) || Number(value) < range.min || Number(value) > range.max) {
    throw badRequest(
      `annotation ${key}=${JSON.stringify(value.slice(0, 80))} is not a port in the allowed range ${range.min}-${range.max}`,
    );
  }
}

function checkPortList(key: string, value: string, range: PortRange): void {
  const parts = value.split(",");
  if (parts.length > 1000) throw badRequest(`annotation ${key} lists more than 1000 ports`);
  for (const p of parts) checkPort(key, p, range);
}
