// `npm start` and Ctrl-C as a terminal sends it: SIGINT to the whole
// foreground process group. confd and nginx must not get it (their own
// groups): the pods drain through them and stop first, nginx and confd last,
// and the demo exits 0 with nothing left running.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../../src/main/repo-root.js";
import { alive, waitFor } from "../runtime/helpers.js";
import { requireNginx } from "../support/nginx.js";
import { freePort } from "../support/ports.js";

test("npm start: Ctrl-C drains the pods before it stops confd and nginx", {
  timeout: 180_000,
}, async () => {
  requireNginx();
  const dir = mkdtempSync(join(tmpdir(), "npm-start-"));
  const listen = `127.0.0.1:${await freePort()}`;
  // detached: the demo leads a new group, as a shell's foreground job does
  const demo = spawn(
    process.execPath,
    [
      join(repoRoot(), "dist/src/main/demo.js"),
      "--data-dir",
      join(dir, "data"),
      "--listen",
      listen,
      "--admin-token",
      "fixed-admin-token-1234",
    ],
    { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  const t0 = Date.now();
  let bannerMs = -1;
  demo.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    if (bannerMs < 0 && out.includes("Ctrl-C stops everything")) bannerMs = Date.now() - t0;
  });
  demo.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => demo.once("exit", (code) => r(code)));
  try {
    const started = await waitFor(
      "the demo's summary",
      () => (demo.exitCode !== null ? "exited" : out.includes("Ctrl-C stops everything") && "up"),
      120_000,
    );
    assert.equal(started, "up", `the demo exited early:\n${out}`);
    // the banner comes at once (with the fixed token), progress lines after it
    assert.match(out, /console {7}http:\/\/\S+\/console\/#token=fixed-admin-token-1234\n/);
    await waitFor(
      "all replicas reported",
      () => out.includes("3 of 3 replicas routed by nginx."),
      120_000,
    );
    const banner = out.indexOf("Ctrl-C stops everything");
    assert.ok(banner < out.indexOf("  ready 1/3: "), out);
    assert.ok(out.indexOf("  ready 3/3: ") < out.indexOf("3 of 3 replicas routed"), out);
    process.stdout.write(`# npm start banner after ${bannerMs} ms\n`);
    const nginxUrl = /nginx {9}(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    const metrics = /-metrics-addr (127\.0\.0\.1:\d+)/.exec(out)?.[1];
    const upstream = /renders (\S+)/.exec(out)?.[1];
    assert.ok(nginxUrl && metrics && upstream, out);
    const nginxPid = Number(readFileSync(join(upstream, "../../nginx.pid"), "utf8"));
    const appPids = new Set<number>();
    await waitFor("3 replicas' pids through nginx", async () => {
      const r = await fetch(nginxUrl, { headers: { connection: "close" } });
      appPids.add(((await r.json()) as { pid: number }).pid);
      return appPids.size === 3;
    });
    const confdUp = async () => {
      try {
        await fetch(`http://${metrics}/healthz`, { signal: AbortSignal.timeout(500) });
        return true;
      } catch {
        return false;
      }
    };
    assert.ok(alive(nginxPid) && (await confdUp()));

    process.kill(-demo.pid!, "SIGINT"); // what the terminal does on Ctrl-C
    const gone: Record<string, number> = {};
    const t0 = Date.now();
    while (Object.keys(gone).length < 3 && Date.now() - t0 < 120_000) {
      const now = Date.now();
      if (!gone.apps && [...appPids].every((p) => !alive(p))) gone.apps = now;
      if (!gone.nginx && !alive(nginxPid)) gone.nginx = now;
      if (!gone.confd && !(await confdUp())) gone.confd = now;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(gone.apps && gone.nginx && gone.confd, `${JSON.stringify(gone)}\n${out}`);
    assert.ok(gone.apps <= gone.nginx, `nginx stopped before the pods: ${JSON.stringify(gone)}`);
    assert.ok(gone.apps <= gone.confd, `confd stopped before the pods: ${JSON.stringify(gone)}`);
    assert.equal(await exited, 0, out);
    assert.match(out, /stopping pods and the server, then domeos-confd and nginx/);
  } finally {
    if (demo.exitCode === null) process.kill(-demo.pid!, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
