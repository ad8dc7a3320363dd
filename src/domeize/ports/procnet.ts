// Ports in use on this host, from /proc/net. Every socket counts whatever its
// state (LISTEN, ESTABLISHED, TIME_WAIT, UDP, RAW): a port seen here is never
// handed out. Malformed lines are skipped, not fatal: the bind probe that
// follows is the final word, this scan only narrows the candidates.

import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

export const PROC_NET_FILES = [
  "tcp",
  "tcp6",
  "udp",
  "udp6",
  "udplite",
  "udplite6",
  "raw",
  "raw6",
] as const;

/** Local ports of one /proc/net table ("  0: 0100007F:4E21 00000000:0000 0A ..."). */
export function parseProcNet(text: string, into: Set<number> = new Set()): Set<number> {
  const lines = text.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i].trim().split(/\s+/);
    // fields[0] = "sl:", fields[1] = local "ADDR:PORT"
    const local = fields[1];
    if (local === undefined) continue;
    const colon = local.lastIndexOf(":");
    if (colon < 0) continue;
    const hex = local.slice(colon + 1);
    if (!/^[0-9A-Fa-f]{1,4}$/.test(hex)) continue;
    into.add(Number.parseInt(hex, 16));
  }
  return into;
}

/** Ports in use in this network namespace; missing tables are skipped. */
export function portsInUse(root = "/proc/net"): Set<number> {
  const used = new Set<number>();
  for (const name of PROC_NET_FILES) {
    let text: string;
    try {
      text = readFileSync(`${root}/${name}`, "latin1");
    } catch {
      continue; // absent (no IPv6, no udplite) or unreadable: the probe still checks
    }
    parseProcNet(text, used);
  }
  return used;
}

/**
 * The same, reading the tables in parallel on libuv's thread pool: the
 * kernel's socket-table walk then overlaps with template parsing.
 */
export async function portsInUseAsync(root = "/proc/net"): Promise<Set<number>> {
  const used = new Set<number>();
  const texts = await Promise.all(
    PROC_NET_FILES.map((name) => readFile(`${root}/${name}`, "latin1").catch(() => "")),
  );
  for (const text of texts) parseProcNet(text, used);
  return used;
}
