#!/usr/bin/env node
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
// Builds dist/domeize.cjs: domeize (with the template engine and its
// function library) as one file that runs with plain `node`, no
// node_modules. Copy it next to bin/domeize (the sh launcher) in an image.
// Lazily loaded parts stay lazy: esbuild keeps each dynamically imported
// module behind its own init function.
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
await build({
  entryPoints: [`${root}/src/domeize/main.ts`],
  outfile: `${root}/dist/domeize.cjs`,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  legalComments: "none",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
});
