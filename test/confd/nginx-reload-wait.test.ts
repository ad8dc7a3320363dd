// examples/confd/nginx-reload-wait.sh against a real nginx: the reload
// command returns only once the workers from before the reload stopped
// accepting (what domeos-confd's appliedRevision, and so a pod's drain,
// relies on), and fails when nginx keeps them (a configuration it refused).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { NGINX_BIN, NginxServer } from "../support/nginx.js";
import { freePort } from "../support/ports.js";
import { acceptingWorkers, EXAMPLE, hupPending, until } from "./nginx-harness.js";

const SCRIPT = join(EXAMPLE, "nginx-reload-wait.sh");

function runScript(nginx: NginxServer, env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(
    SCRIPT,
    [join(nginx.prefix, "nginx.pid"), "-p", nginx.prefix, "-c", nginx.confPath],
    { env: { ...process.env, NGINX_BIN, ...env }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, exited, stderr: () => stderr };
}

async function startNginx(): Promise<{ nginx: NginxServer; master: number }> {
  const nginx = new NginxServer();
  await nginx.configure("up", "return 200 'ok';");
  await nginx.start();
  const master = Number(readFileSync(join(nginx.prefix, "nginx.pid"), "utf8").trim());
  return { nginx, master };
}

test("nginx-reload-wait: returns once the old workers stopped accepting, not when the signal is sent", {
  timeout: 60_000,
}, async () => {
  const { nginx, master } = await startNginx();
  try {
    const before = acceptingWorkers(master);
    assert.equal(before.length, 1, "one worker before the reload");
    // a master too busy to act on SIGHUP yet (frozen): the signal is sent,
    // the old worker still accepts, the reload command must not return
    process.kill(master, "SIGSTOP");
    const run = runScript(nginx, { RELOAD_WAIT_SECONDS: "60" });
    try {
      await until(() => hupPending(master), 20_000, "the reload's SIGHUP pending at the master");
      // a plain `nginx -s reload` exits right after sending it: give such a
      // command time to be seen exiting (a correct one cannot exit here at all)
      const early = await Promise.race([
        run.exited.then((code) => `exited with ${code}`),
        new Promise<null>((r) => setTimeout(() => r(null), 500)),
      ]);
      assert.equal(early, null, "the reload command returned while nginx had not reloaded");
      assert.deepEqual(acceptingWorkers(master), before);
    } finally {
      process.kill(master, "SIGCONT");
    }
    assert.equal(await run.exited, 0, run.stderr());
    const now = acceptingWorkers(master);
    assert.ok(!now.includes(before[0]), `old worker ${before[0]} still accepting`);
    assert.equal(now.length, 1, "the new worker runs");
  } finally {
    await nginx.destroy();
  }
});

test("nginx-reload-wait: a configuration nginx refuses at reload fails the command, naming why", {
  timeout: 60_000,
}, async () => {
  const { nginx, master } = await startNginx();
  // valid for `nginx -t`-free signalling, refused by the master: a port taken
  const taken = createServer();
  const port = await freePort();
  await new Promise<void>((r) => taken.listen(port, "127.0.0.1", r));
  try {
    const before = acceptingWorkers(master);
    writeFileSync(
      join(nginx.confDir, "extra.conf"),
      `server { listen 127.0.0.1:${port}; return 200 'x'; }\n`,
    );
    const run = runScript(nginx, { RELOAD_WAIT_SECONDS: "1" });
    assert.equal(await run.exited, 1);
    assert.match(run.stderr(), /still runs the workers from before the reload after 1 s/);
    assert.deepEqual(acceptingWorkers(master), before, "nginx kept its old configuration");
  } finally {
    await new Promise<void>((r) => taken.close(() => r()));
    await nginx.destroy();
  }
});
