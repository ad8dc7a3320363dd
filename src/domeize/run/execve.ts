// The self-contained executable (bun build --compile) replaces itself with
// the app through libc's execve(2), called with bun:ffi: same pid (PID 1 in
// the container), no launcher, no shell, and argv and the environment as
// raw bytes (names sh cannot carry, values that are not UTF-8).
//
// Bun ignores SIGPIPE and SIGXFSZ for itself; ignored dispositions survive
// execve, so both are set back to the default first (handled signals are
// reset by the kernel). Bun also marks every inherited descriptor from 4
// up close-on-exec at its start (close_range(4, ~0, CLOSE_RANGE_CLOEXEC)),
// which would cut socket activation's LISTEN_FDS and any descriptor a
// caller hands down: inheritedFds() lists them as domeize starts, and
// execApp clears the flag on those again. Bun's own descriptors (its
// epoll and eventfd, open before our code runs) are told apart by kind.

import { readdirSync, readlinkSync } from "node:fs";
import { constants } from "node:os";
import type { RawEntry } from "../environ.js";
import { EXIT, fail } from "../exit.js";

/** Whether this is the self-contained executable (or any Bun) rather than Node. */
export function canExecve(): boolean {
  return (process.versions as Record<string, string | undefined>).bun !== undefined;
}

/** Descriptors the caller passed (3 and up), as domeize starts; see above. */
export function inheritedFds(): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc/self/fd");
  } catch {
    return out;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!(fd >= 3)) continue;
    try {
      const target = readlinkSync(`/proc/self/fd/${name}`);
      if (target !== "anon_inode:[eventpoll]" && target !== "anon_inode:[eventfd]") out.push(fd);
    } catch {
      // the directory's own descriptor, already closed
    }
  }
  return out;
}

interface FfiSymbols {
  fcntl(fd: number, cmd: number, arg: number): number;
  execve(path: number, argv: number, envp: number): number;
  signal(sig: number, handler: number | null): unknown;
  __errno_location(): number;
}

interface Ffi {
  dlopen(name: string, symbols: Record<string, unknown>): { symbols: FfiSymbols };
  ptr(view: ArrayBufferView): number;
  read: { i32(p: number, offset?: number): number };
  FFIType: Record<string, unknown>;
}

// A variable specifier: tsc and esbuild (the Node bundle) leave it alone.
const FFI_MODULE = "bun:ffi";

// glibc images, then musl (the musl build of the executable).
const LIBC = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.so"];

function openLibc(ffi: Ffi): FfiSymbols {
  const T = ffi.FFIType;
  const defs = {
    fcntl: { args: [T.i32, T.i32, T.i32], returns: T.i32 },
    execve: { args: [T.ptr, T.ptr, T.ptr], returns: T.i32 },
    signal: { args: [T.i32, T.ptr], returns: T.ptr },
    __errno_location: { args: [], returns: T.ptr },
  };
  let last: unknown;
  for (const name of LIBC) {
    try {
      return ffi.dlopen(name, defs).symbols;
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`cannot open the C library (${LIBC.join(", ")})`, { cause: last });
}

function cString(b: Buffer | string): Buffer {
  const src = typeof b === "string" ? Buffer.from(b) : b;
  const out = Buffer.alloc(src.length + 1);
  src.copy(out);
  return out;
}

/** A NULL-terminated char*[]; `keep` holds the strings alive through the call. */
function pointerArray(ffi: Ffi, items: readonly Buffer[], keep: Buffer[]): BigUint64Array {
  const arr = new BigUint64Array(items.length + 1);
  items.forEach((item, i) => {
    const c = cString(item);
    keep.push(c);
    arr[i] = BigInt(ffi.ptr(c));
  });
  return arr;
}

function errnoName(errno: number): string {
  const hit = Object.entries(constants.errno).find(([, n]) => n === errno);
  return hit !== undefined ? hit[0] : `errno ${errno}`;
}

const F_SETFD = 2;
const SIGPIPE = 13;
const SIGXFSZ = 25;
const ENOENT = 2;

/**
 * Replaces this process with `path` (resolved like execvp: see
 * resolve.ts), argv and environment as given. Returns only by throwing.
 */
export async function execApp(
  path: string,
  argv: readonly string[],
  environ: readonly RawEntry[],
  inherited: readonly number[],
): Promise<never> {
  const ffi = (await import(FFI_MODULE)) as Ffi;
  const libc = openLibc(ffi);
  const keep: Buffer[] = [];
  const file = cString(path);
  const args = pointerArray(
    ffi,
    argv.map((a) => Buffer.from(a)),
    keep,
  );
  const envp = pointerArray(ffi, environ, keep);
  for (const fd of inherited) libc.fcntl(fd, F_SETFD, 0);
  libc.signal(SIGPIPE, null);
  libc.signal(SIGXFSZ, null);
  libc.execve(ffi.ptr(file), ffi.ptr(args), ffi.ptr(envp));
  const errno = ffi.read.i32(libc.__errno_location());
  // Still here: execve failed (keep the buffers referenced until now).
  keep.length = 0;
  return fail(
    errno === ENOENT ? EXIT.notFound : EXIT.notExecutable,
    `cannot execute ${path}: ${errnoName(errno)}`,
  );
}
