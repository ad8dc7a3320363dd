// Location of ../shared (the conformance kit, references, golden files).
// CI clones the repo elsewhere with shared/ beside it, so never hard-code
// /work/shared: resolve it from the repo root.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repo root (this file compiles to dist/test/support/shared.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const SHARED_DIR = process.env.DOMEOS_SHARED_DIR ?? resolve(REPO_ROOT, "../shared");
