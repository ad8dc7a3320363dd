// Kubernetes name rules. Every name that becomes part of a store key is
// checked here first, so "..", "/", "%2F" or empty segments can never reach
// another key.
import { badRequest } from "./errors.js";

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && LABEL.test(s);
}

/** Pod names may be DNS-1123 subdomains (dots allowed, never leading, never ".."). */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && SUBDOMAIN.test(s);
}

/** Throw 400 naming `what` unless `value` is a DNS-1123 label. */
export function requireLabel(what: string, value: string): string {
  if (!isDnsLabel(value)) {
    throw badRequest(
      `${what} ${JSON.stringify(value)} is not a valid DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    );
  }
  return value;
}

export function requirePodName(what: string, value: string): string {
  if (!isDnsSubdomain(value)) {
    throw badRequest(
      `${what} ${JSON.stringify(value)} is not a valid pod name (DNS-1123 subdomain: lower-case letters, digits, '-' and '.', at most 253 characters)`,
    );
  }
  return value;
}
