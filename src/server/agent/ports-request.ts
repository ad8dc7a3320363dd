// The body of POST .../ports, validated (docs/ports-ledger.md).

import { isIP } from "node:net";
import { badRequest } from "../http/errors.js";
import { isDnsLabel } from "../http/names.js";
import type { PortRange } from "./annotation-policy.js";

export interface PortsRequest {
  count: number;
  container: string;
  busy: number[];
  preferred: number[];
  host?: string;
}

export const MAX_PORTS_PER_REQUEST = 100;
const FIELDS = new Set(["count", "container", "busy", "preferred", "host"]);

export function parsePortsRequest(body: Record<string, unknown>, range: PortRange): PortsRequest {
  for (const k of Object.keys(body)) {
    if (!FIELDS.has(k))
      throw badRequest(
        `unknown field ${JSON.stringify(k)}; expected count, container, busy, preferred, host`,
      );
  }
  const { count } = body;
  const size = range.max - range.min + 1;
  const max = Math.min(MAX_PORTS_PER_REQUEST, size);
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > max) {
    throw badRequest(`count ${JSON.stringify(count)} must be an integer from 1 to ${max}`);
  }
  const container = body.container ?? "";
  if (typeof container !== "string" || (container !== "" && !isDnsLabel(container))) {
    throw badRequest(
      `container ${JSON.stringify(container)} must be a DNS-1123 label (the container's name)`,
    );
  }
  const req: PortsRequest = {
    count,
    container,
    busy: portList(body.busy, "busy"),
    preferred: portList(body.preferred, "preferred"),
  };
  if (body.host !== undefined) {
    if (typeof body.host !== "string" || isIP(body.host) === 0) {
      throw badRequest(`host ${JSON.stringify(body.host)} must be the node's IP address`);
    }
    req.host = body.host;
  }
  return req;
}

function portList(v: unknown, field: string): number[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 1000)
    throw badRequest(`${field} must be an array of at most 1000 port numbers`);
  for (const p of v) {
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) {
      throw badRequest(
        `${field} contains ${JSON.stringify(p)}, which is not a port number (1-65535)`,
      );
    }
  }
  return [...new Set(v as number[])];
}
