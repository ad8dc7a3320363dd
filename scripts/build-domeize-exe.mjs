#!/usr/bin/env node
// Builds dist/bin/domeize-linux-x64: domeize as one self-contained
// executable (no Node, no /bin/sh, nothing beside it), compiled by
// `bun build --compile` from the same TypeScript source as the Node
// bundle. It needs a glibc (Debian, Ubuntu, RHEL, distroless/cc images).
// Also dist/bin/domeize-linux-x64-musl (Alpine) when Bun can get its musl
// runtime (from the npm registry on first use, then ~/.bun/install/cache);
// a failure there is a warning, not a failed build.
//
// Skipped with a note when the bun package (a devDependency) is not
// installed. DOMEIZE_EXE=off skips it too; DOMEIZE_EXE_MUSL=off skips musl.
// docs/domeize.md says why Bun and not Node's single executable applications.
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// The bun package's postinstall moves the platform binary into bun/bin;
// without install scripts it stays in @oven/bun-linux-x64 (and bun/bin
// holds a placeholder).
const bun = [
  `${root}/node_modules/bun/bin/bun.exe`,
  `${root}/node_modules/@oven/bun-linux-x64/bin/bun`,
].find((p) => {
  try {
    execFileSync(p, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});
const entry = `${root}/src/domeize/main.ts`;
const outDir = `${root}/dist/bin`;

if (process.env.DOMEIZE_EXE === "off") process.exit(0);
if (bun === undefined) {
  console.error(
    "build-domeize-exe: no working bun in node_modules: dist/bin/domeize-linux-x64 not built",
  );
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });

/** Compiles for one Bun target; resolves with the error output on failure. */
async function compile(target, outfile) {
  rmSync(outfile, { force: true });
  try {
    // --bytecode: the program is stored compiled (faster start, see bench/RESULTS.md).
    // No autoloading at run time: a .env or bunfig.toml in the app's working
    // directory would change domeize's own settings (NEED_PORTS, ...), and
    // looking for them costs every start ~10 ms.
    await promisify(execFile)(
      bun,
      [
        "build",
        entry,
        "--compile",
        "--bytecode",
        "--minify",
        "--no-compile-autoload-dotenv",
        "--no-compile-autoload-bunfig",
        "--no-compile-autoload-tsconfig",
        "--no-compile-autoload-package-json",
        // A start is ~100 ms of code that runs once: tiering it up to the
        // optimizing JITs costs more CPU (JIT worker threads) than it saves.
        // Resident mode (tails, the app as a child) sets the normal policy
        // back (program.ts).
        "--compile-jit-policy=100",
        `--target=${target}`,
        "--outfile",
        outfile,
      ],
      { cwd: root, maxBuffer: 1 << 20 },
    );
    return undefined;
  } catch (err) {
    rmSync(outfile, { force: true });
    return `${err.stderr || err.message}`.trim();
  }
}

const glibc = compile("bun-linux-x64", `${outDir}/domeize-linux-x64`);
const musl =
  process.env.DOMEIZE_EXE_MUSL === "off"
    ? Promise.resolve(undefined)
    : compile("bun-linux-x64-musl", `${outDir}/domeize-linux-x64-musl`);
const [glibcErr, muslErr] = await Promise.all([glibc, musl]);
if (muslErr !== undefined) {
  console.error(`build-domeize-exe: warning: musl executable not built: ${muslErr}`);
}
if (glibcErr !== undefined) {
  console.error(`build-domeize-exe: ${glibcErr}`);
  process.exit(1);
}
