// Where the tests find the repository and the reference fixtures kept in it
// (test/fixtures/: the Go text/template conformance kit and real confd's
// golden output, copied in by tools/sync-fixtures.sh). Tests read nothing
// outside the clone, so a fresh checkout runs them all.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repo root (this file compiles to dist/test/support/fixtures.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const FIXTURES_DIR = resolve(REPO_ROOT, "test", "fixtures");
/** Go text/template conformance kit: core.json, core.expected.json, compare.mjs, oracle/. */
export const GOTMPL_KIT = resolve(FIXTURES_DIR, "gotmpl");
/** Real confd 0.17's output for the fn and DomeOS upstream resources (see its README). */
export const CONFD_GOLDEN = resolve(FIXTURES_DIR, "confd-golden");
