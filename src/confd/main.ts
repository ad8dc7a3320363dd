// domeos-confd entry point (bin/domeos-confd): a confd-compatible generator.
import { runConfd } from "./app.js";

runConfd(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(
      `domeos-confd: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
