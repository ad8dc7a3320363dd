// Node's own libuv bindings (tcp_wrap, udp_wrap, stream_wrap), the layer
// under node:net and node:dgram, for the two things domeize does at every
// start: the bind probes and one HTTP exchange. Through the public modules
// they cost milliseconds of module loading and stream machinery per start;
// the handles themselves are a few calls. Every user checks the shapes it
// needs and falls back to the public modules when anything differs.
//
// process.binding is deprecated in documentation only (DEP0111); under
// --pending-deprecation it would print a warning, so it is not used then.

import { getSystemErrorName } from "node:util";

/** A binding of process.binding's allow list, or undefined (unavailable, or deprecations reported). */
export function uvBinding(name: "tcp_wrap" | "udp_wrap" | "stream_wrap"): unknown {
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  if (typeof binding !== "function") return undefined;
  if (
    process.execArgv.includes("--pending-deprecation") ||
    process.env.NODE_PENDING_DEPRECATION === "1" ||
    (process.env.NODE_OPTIONS ?? "").includes("--pending-deprecation")
  ) {
    return undefined;
  }
  try {
    return binding(name);
  } catch {
    return undefined;
  }
}

/** Whether `o` has a function under each name. */
export function hasMethods(o: unknown, names: readonly string[]): boolean {
  return (
    typeof o === "object" &&
    o !== null &&
    names.every((m) => typeof (o as Record<string, unknown>)[m] === "function")
  );
}

/** ECONNREFUSED and the like for a negative libuv status. */
export function errName(code: number): string {
  try {
    return getSystemErrorName(code);
  } catch {
    return `E${-code}`;
  }
}
