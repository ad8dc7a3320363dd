// domeize entry point. Imports stay minimal and everything else loads
// lazily: startup time is the cost every pod pays.

import { FlagError, HelpRequested } from "../goflag/flags.js";
import { parseOptions } from "./cli/options.js";
import { DomeizeError, EXIT } from "./exit.js";
import { log } from "./log.js";
import { trace } from "./trace.js";

async function usage(): Promise<string> {
  return (await import("./cli/usage.js")).usageText();
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  // Kubernetes probes and the injection copy (src/domeize/probe.ts).
  if (argv[0] === "probe") return (await import("./probe.js")).probeMain(argv.slice(1), env);
  let opts: ReturnType<typeof parseOptions>;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stderr.write(await usage());
      return EXIT.ok;
    }
    if (err instanceof FlagError) {
      const detail = err.detail !== undefined ? ` (${err.detail})` : "";
      process.stderr.write(`domeize: ${err.message}${detail}\n\n${await usage()}`);
      return EXIT.usage;
    }
    throw err;
  }
  if (opts.version) {
    process.stdout.write(`${(await import("./version.js")).VERSION}\n`);
    return EXIT.ok;
  }
  if (opts.empty) {
    process.stderr.write(await usage());
    return EXIT.usage;
  }
  trace("options parsed");
  const program = await import("./program.js");
  trace("program loaded");
  if (env.DOMEIZE_RESUME === "run") return program.runResident(opts, env);
  return program.prepareAndRun(opts, env);
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof DomeizeError) {
      log(err.message);
      process.exit(err.code);
    }
    log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(EXIT.internal);
  },
);
