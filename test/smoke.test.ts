import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

test("executables start from the repo root", () => {
  for (const bin of ["bin/domeize", "bin/domeos-server", "bin/domeos-confd"]) {
    const r = spawnSync(bin, ["--help"], { encoding: "utf8" });
    assert.ok(!/cannot start/.test(r.stderr), `${bin}: ${r.stderr}`);
  }
});
