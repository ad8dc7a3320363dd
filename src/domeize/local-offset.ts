// The local zone's UTC offset for the log's time stamp, found as Go's time
// package finds the local zone (Go 1.19 initLocal): TZ unset -> the TZif
// file /etc/localtime; TZ="" or "UTC" -> UTC; TZ="[:]/abs/path" -> that
// file; TZ="[:]Area/City" -> the file under the zoneinfo directories; any
// failure -> UTC.
//
// Why not Date's local-time methods: in the Bun executable the first one
// initializes the runtime's ICU time zone support, 20-40 ms of every start
// (measured: `new Date().getTimezoneOffset()` alone, with TZ=UTC too), for
// a stamp on two log lines. Reading the zone's TZif file is ~0.1 ms.
//
// The one case handed back to Date: an instant after the file's last
// transition in a zone whose footer rule has daylight saving time (a
// "slim" TZif file), where the offset comes from the POSIX rule.

import { readFileSync } from "node:fs";

const ZONE_DIRS = ["/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/", "/usr/lib/locale/TZ/"];

/** The zone file Go would load for this TZ value, or undefined for UTC. */
export function zoneFile(tz: string | undefined): string[] | undefined {
  if (tz === undefined) return ["/etc/localtime"];
  const name = tz.startsWith(":") ? tz.slice(1) : tz;
  if (name === "" || name === "UTC") return undefined;
  if (name.startsWith("/")) return [name];
  // Go refuses names that could leave the zoneinfo directory.
  if (name.includes("..") || name.includes("\\")) return undefined;
  return ZONE_DIRS.map((d) => d + name);
}

/** What a TZif file says about one instant: an offset in seconds, or "rule" (ask Date). */
export function tzifOffset(data: Uint8Array, unixSec: number): number | "rule" | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const header = (at: number) => {
    if (at + 44 > data.length) return undefined;
    if (view.getUint32(at) !== 0x545a6966) return undefined; // "TZif"
    const n = (i: number) => view.getUint32(at + 20 + 4 * i);
    return {
      version: data[at + 4],
      isut: n(0),
      isstd: n(1),
      leap: n(2),
      time: n(3),
      type: n(4),
      char: n(5),
    };
  };
  const v1 = header(0);
  if (v1 === undefined) return undefined;
  const size = (h: NonNullable<typeof v1>, t: number) =>
    h.time * t + h.time + h.type * 6 + h.char + h.leap * (t + 4) + h.isstd + h.isut;
  let h = v1;
  let at = 44;
  let t = 4;
  let footer = "";
  if (v1.version >= 0x32) {
    // Version 2+: a second header and body with 64-bit times, then the footer.
    const v2 = header(44 + size(v1, 4));
    if (v2 === undefined) return undefined;
    h = v2;
    at = 44 + size(v1, 4) + 44;
    t = 8;
    const end = at + size(v2, 8);
    if (end > data.length) return undefined;
    const nl = data.indexOf(10, end + 1);
    if (data[end] === 10 && nl > end) footer = Buffer.from(data.subarray(end + 1, nl)).toString();
  }
  if (h.type === 0 || at + size(h, t) > data.length) return undefined;
  const typesAt = at + h.time * t;
  const infoAt = typesAt + h.time;
  const utoff = (type: number) => (type < h.type ? view.getInt32(infoAt + type * 6) : Number.NaN);
  const when = (i: number) =>
    t === 8 ? Number(view.getBigInt64(at + i * 8)) : view.getInt32(at + i * 4);
  // Before the first transition (or none): the first standard-time type, as Go.
  if (h.time === 0 || unixSec < when(0)) {
    let first = 0;
    for (let i = 0; i < h.type; i++) {
      if (data[infoAt + i * 6 + 4] === 0) {
        first = i;
        break;
      }
    }
    const off = utoff(first);
    return Number.isFinite(off) ? off : undefined;
  }
  let lo = 0;
  let hi = h.time - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (when(mid) <= unixSec) lo = mid;
    else hi = mid - 1;
  }
  // After the last transition a footer with a DST rule decides.
  if (lo === h.time - 1 && footer.includes(",")) return "rule";
  const off = utoff(data[typesAt + lo]);
  return Number.isFinite(off) ? off : undefined;
}

let cached: { file: Uint8Array | undefined } | undefined;

/** The local offset (minutes east of UTC) at `ms`, as Go's log prints it. */
export function localOffsetMinutes(ms: number, env: NodeJS.ProcessEnv = process.env): number {
  if (cached === undefined) {
    let file: Uint8Array | undefined;
    for (const path of zoneFile(env.TZ) ?? []) {
      try {
        file = readFileSync(path);
        break;
      } catch {
        // next directory; none found: UTC, as Go
      }
    }
    cached = { file };
  }
  if (cached.file === undefined) return 0;
  const off = tzifOffset(cached.file, Math.floor(ms / 1000));
  if (off === "rule") return -new Date(ms).getTimezoneOffset();
  return off === undefined ? 0 : off / 60;
}

/** For tests: forget the zone read so far. */
export function resetLocalZone(): void {
  cached = undefined;
}
