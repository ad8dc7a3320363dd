// The package's root directory (where bin/ and examples/ are), found from
// this module whether it runs from src/ or dist/src/.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "domeos-hostnet")
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the domeos-hostnet package root");
    dir = up;
  }
}
