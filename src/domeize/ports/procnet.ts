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

/** TCP state 06: a closed connection waiting out 2*MSL; nothing listens. */
const TIME_WAIT = "06";

/**
 * Ports seen in /proc/net. `lingering` holds ports whose only sockets are
 * TCP TIME_WAIT (connections of an app that has exited): a restarted
 * container may take its own previous ports back over those (listeners
 * bind with SO_REUSEADDR, and the bind probe decides); fresh picks avoid
 * them like any port in use.
 */
export class PortsInUse {
  readonly busy = new Set<number>();
  private readonly waiting = new Set<number>();

  /** In use in any way, TIME_WAIT included: never a fresh pick. */
  has(port: number): boolean {
    return this.busy.has(port) || this.waiting.has(port);
  }

  /** In use by something other than TIME_WAIT: not even for a sticky restart. */
  hard(port: number): boolean {
    return this.busy.has(port);
  }

  get size(): number {
    return new Set([...this.busy, ...this.waiting]).size;
  }

  /** How many ports of start..end (inclusive) are in use. */
  countIn(start: number, end: number): number {
    let n = 0;
    for (const p of new Set([...this.busy, ...this.waiting])) if (p >= start && p <= end) n++;
    return n;
  }

  add(port: number, state: string): void {
    if (state === TIME_WAIT) this.waiting.add(port);
    else this.busy.add(port);
  }
}

const NL = 10;
const COLON = 58;

/** Blank as the kernel's tables use it: space, tab, CR (a line ends at LF). */
const isBlank = (c: number) => c === 32 || c === 9 || c === 13;

/** Value of an ASCII hex digit, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * One table line, bytes [start, end): "sl:", the local ADDR:PORT (the port
 * is 1-4 hex digits after the last colon), the remote address, the state;
 * fields separated by blanks. A line that does not fit is skipped.
 */
function parseLine(b: Uint8Array, start: number, end: number, into: PortsInUse, tcp: boolean) {
  // The start and end of the first four fields.
  const at: number[] = [];
  let i = start;
  while (at.length < 8) {
    while (i < end && isBlank(b[i])) i++;
    if (i >= end) break;
    at.push(i);
    while (i < end && !isBlank(b[i])) i++;
    at.push(i);
  }
  if (at.length < 4) return;
  const localEnd = at[3];
  let port = 0;
  let digits = 0;
  for (let j = localEnd - 1; j >= at[2]; j--) {
    if (b[j] === COLON) break;
    const d = hexDigit(b[j]);
    if (d < 0 || ++digits > 4) return;
    port += d << (4 * (digits - 1));
  }
  if (digits === 0 || localEnd - digits - 1 < at[2]) return; // no ":" + hex digits
  const timeWait =
    tcp && at.length === 8 && at[7] - at[6] === 2 && b[at[6]] === 48 && b[at[6] + 1] === 54;
  into.add(port, timeWait ? TIME_WAIT : "");
}

/**
 * Local ports of one /proc/net table ("  0: 0100007F:4E21 00000000:0000 0A ..."),
 * the header line skipped; for TCP with their state (TIME_WAIT or not).
 * Read as bytes, no text decoding nor regular expression: a host with
 * thousands of sockets (TIME_WAIT) has hundreds of kilobytes of table, and
 * this runs cold, once per start.
 */
export function parseProcNet(
  table: string | Uint8Array,
  into: PortsInUse = new PortsInUse(),
  tcp = true,
): PortsInUse {
  const b = typeof table === "string" ? Buffer.from(table, "latin1") : table;
  let i = b.indexOf(NL);
  if (i < 0) return into;
  for (i++; i < b.length; ) {
    let end = b.indexOf(NL, i);
    if (end < 0) end = b.length;
    parseLine(b, i, end, into, tcp);
    i = end + 1;
  }
  return into;
}

const TCP_TABLES = new Set(["tcp", "tcp6"]);

/**
 * Ports in use in this network namespace; missing tables are skipped.
 * `tcpTables`: the tcp and tcp6 tables already read (the launcher's copy,
 * see launcherTcpTables), so only the others are read here.
 */
export function portsInUse(root = "/proc/net", tcpTables?: string | Uint8Array): PortsInUse {
  const used = new PortsInUse();
  if (tcpTables !== undefined) parseProcNet(tcpTables, used, true);
  for (const name of PROC_NET_FILES) {
    if (tcpTables !== undefined && TCP_TABLES.has(name)) continue;
    let table: Buffer;
    try {
      table = readFileSync(`${root}/${name}`);
    } catch {
      continue; // absent (no IPv6, no udplite) or unreadable: the probe still checks
    }
    parseProcNet(table, used, name.startsWith("tcp"));
  }
  return used;
}

/**
 * The same, read off the main thread: under Bun (the executable) a file is
 * read in one task of its worker pool, so a host's hundreds of kilobytes of
 * TCP table (8,000 TIME_WAIT sockets: 1.2 MB, 10-20 ms of kernel time) are
 * produced while the main thread parses the templates. (Node's readFile
 * takes a pool round trip per chunk: there the launcher's background copy
 * or the synchronous read is used.)
 */
export async function portsInUseAsync(root = "/proc/net"): Promise<PortsInUse> {
  const tables = await Promise.all(
    PROC_NET_FILES.map((name) => readFile(`${root}/${name}`).catch(() => undefined)),
  );
  const used = new PortsInUse();
  PROC_NET_FILES.forEach((name, i) => {
    const table = tables[i];
    if (table !== undefined) parseProcNet(table, used, name.startsWith("tcp"));
  });
  return used;
}

const SCAN_END = "# domeize-scan end ";

/** Whether a process (the launcher's copying job) still runs: not gone, not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat[stat.lastIndexOf(")") + 2];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * The tcp and tcp6 tables as bin/domeize copied them in the background
 * (`cat /proc/net/tcp /proc/net/tcp6`, then a line with cat's exit
 * status): their text when the copy is complete and cat succeeded, else
 * undefined (the caller reads /proc/net itself). Waits, a millisecond at a
 * time, while the copying job `pid` runs, at most `maxWaitMs`.
 */
export function launcherTcpTables(
  file: string,
  pid: number | undefined,
  maxWaitMs = 1000,
): string | undefined {
  const until = Date.now() + maxWaitMs;
  let sleeper: Int32Array | undefined;
  for (;;) {
    // Checked before the read: a job found finished has written everything.
    const alive = pid !== undefined && running(pid);
    let text: string;
    try {
      text = readFileSync(file, "latin1");
    } catch {
      return undefined;
    }
    const at = text.lastIndexOf(SCAN_END);
    if (at >= 0 && (at === 0 || text[at - 1] === "\n")) {
      const status = /^(\d+)\n$/.exec(text.slice(at + SCAN_END.length));
      if (status !== null) return status[1] === "0" ? text.slice(0, at) : undefined;
    }
    if (!alive || Date.now() >= until) return undefined;
    sleeper ??= new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(sleeper, 0, 0, 1);
  }
}
