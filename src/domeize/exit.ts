// Exit codes: one table, documented in docs/domeize.md. The app's own exit
// code passes through unchanged, so ours are small numbers apps rarely use
// for startup failures, plus the shell's 126/127 for the command itself.

export const EXIT = {
  ok: 0,
  /** Unexpected internal error (a bug): the message says what happened. */
  internal: 1,
  /** Bad command line (unknown flag, bad value, no arguments). */
  usage: 2,
  /** A bad environment variable (NEED_PORTS, AVAILABLE_PORT_*, ...). */
  env: 3,
  /** A template could not be read, parsed, executed or written. */
  template: 4,
  /** Ports could not be allocated (range too small or exhausted, state dir). */
  ports: 5,
  /** The ports could not be reported to the DomeOS server before the deadline. */
  report: 6,
  /** Dependencies (-wait) were still down when -timeout expired. */
  wait: 7,
  /** The command exists but cannot be executed. */
  notExecutable: 126,
  /** The command was not found. */
  notFound: 127,
} as const;

/** A failure that ends domeize with a specific exit code and message. */
export class DomeizeError extends Error {
  override name = "DomeizeError";
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export function fail(code: number, message: string): never {
  throw new DomeizeError(code, message);
}
