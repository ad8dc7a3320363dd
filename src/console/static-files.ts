// The console's page: plain files (HTML, ES modules, CSS) served as they are
// in src/console/static, so there is no build step. Found relative to this
// module, whether it runs from src/ (tsx) or from dist/src/ (tsc).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "view.js": "text/javascript; charset=utf-8",
  "input.js": "text/javascript; charset=utf-8",
  "rollout.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

function staticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "static"), join(here, "../../../src/console/static")];
  const found = candidates.find((d) => existsSync(join(d, "index.html")));
  if (!found) throw new Error(`console: static files not found in ${candidates.join(" or ")}`);
  return found;
}

/** The file for a console path (only the known files: no path tricks). */
export function staticFile(name: string): { body: Buffer; type: string } | null {
  const type = TYPES[name];
  if (!type) return null;
  return { body: readFileSync(join(staticDir(), name)), type };
}
