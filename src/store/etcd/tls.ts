// TLS material for the etcd clients: each option is PEM text or a file path.

import { readFileSync } from "node:fs";

/** The PEM bytes of `value` (inline PEM or a file path); undefined when unset. */
export function pem(value: string | undefined, what: string): Buffer | undefined {
  if (value === undefined || value === "") return undefined;
  if (value.includes("-----BEGIN")) return Buffer.from(value);
  try {
    return readFileSync(value);
  } catch (err) {
    throw new Error(`etcd TLS ${what} ${value}: cannot read: ${(err as Error).message}`);
  }
}
