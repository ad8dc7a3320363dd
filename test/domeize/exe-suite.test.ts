// The domeize suite a second time, against the self-contained executable
// (dist/bin/domeize-linux-x64, built by `npm run build` when the bun
// devDependency is installed): ports, sticky ports, the ledger, report
// retries, templates, waits, tails, exit codes, signals, descriptors and
// the environment, so neither the sh launcher path nor the executable can
// rot. Each file runs in its own `node --test` with DOMEIZE_TEST_TARGET=exe
// (helpers.ts then spawns the executable; the tests of the launcher's own
// protocol skip themselves).
//
// Left out: concurrency.test.ts (200 pods at once: ~2 min more, and it
// checks the allocation algorithm, which is the same code in both; sticky
// ports through the binary are in ledger.test), and the in-process unit
// tests (ports, http, sprig, compat: no binary involved).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { EXE, ROOT } from "./helpers.js";

const FILES = ["cli", "environ", "ledger", "report", "templates", "wait", "tail", "run"];

const skip = existsSync(EXE) ? false : `${EXE} not built (no bun in node_modules)`;

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOMEIZE_TEST_TARGET: "exe" };
  // Set by the test runner in its children: a nested runner would report to it instead of running.
  delete env.NODE_TEST_CONTEXT;
  return env;
}

for (const name of FILES) {
  test(`executable: ${name}.test`, { skip }, async () => {
    const file = `${ROOT}/dist/test/domeize/${name}.test.js`;
    const child = spawn(
      process.execPath,
      [
        "--test",
        "--test-concurrency=1",
        "--test-reporter=dot",
        // A hang names the test instead of holding CI until its own limit.
        "--test-timeout=300000",
        file,
      ],
      {
        env: childEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.stderr.on("data", (c) => {
      out += c;
    });
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    assert.equal(code, 0, out);
  });
}
