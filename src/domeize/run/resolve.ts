// Find the command the way execvp will, so "not found" (127) and "not
// executable" (126) are reported by domeize with a clear message instead of
// surfacing as an opaque exec failure.

import { accessSync, constants, statSync } from "node:fs";
import { EXIT, fail } from "../exit.js";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

type Check = "ok" | "missing" | "not-executable";

function check(path: string): Check {
  try {
    // Most PATH entries lack the command: no exception for those (a
    // thrown ENOENT costs far more than the stat).
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) return "missing";
    if (!st.isFile()) return "not-executable";
    accessSync(path, constants.X_OK);
    return "ok";
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? "missing" : "not-executable";
  }
}

/** Absolute or relative path of the executable; fails with 126/127. */
export function resolveCommand(name: string, pathEnv = process.env.PATH ?? DEFAULT_PATH): string {
  if (name === "") fail(EXIT.notFound, "empty command name");
  if (name.includes("/")) {
    const c = check(name);
    if (c === "ok") return name;
    if (c === "missing") fail(EXIT.notFound, `command not found: ${name}`);
    fail(EXIT.notExecutable, `command is not executable: ${name}`);
  }
  let denied: string | undefined;
  for (const dir of pathEnv.split(":")) {
    const full = `${dir === "" ? "." : dir}/${name}`;
    const c = check(full);
    if (c === "ok") return full;
    if (c === "not-executable" && denied === undefined) denied = full;
  }
  if (denied !== undefined) fail(EXIT.notExecutable, `command is not executable: ${denied}`);
  return fail(EXIT.notFound, `command not found in PATH: ${name}`);
}
