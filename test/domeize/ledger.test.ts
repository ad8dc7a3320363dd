// The server's port ledger (docs/ports-ledger.md): domeize takes the ports
// it assigns (in its order), reports ports its probe found busy and asks
// again, and falls back to the host-local reservation on a 404.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { freePort } from "../support/ports.js";
import { podEnv, type Recorded, ReportServer, removeDir, runDomeize, tempDir } from "./helpers.js";

let dir: string;
before(() => {
  dir = tempDir();
});
after(() => removeDir(dir));

const APP = ["sh", "-c", 'echo "$AUTO_PORT0 $AUTO_PORT1"'];
const RANGE = { AVAILABLE_PORT_START: "26700", AVAILABLE_PORT_END: "26799" };

function ledger(assign: (body: { busy?: number[]; preferred?: number[] }) => number[]) {
  return (q: Recorded, res: import("node:http").ServerResponse) => {
    res.setHeader("Content-Type", "application/json");
    if (q.url.endsWith("/ports")) {
      const ports = assign(JSON.parse(q.body));
      res.end(
        JSON.stringify({ resultCode: 200, resultMsg: "OK", result: { ports, host: "127.0.0.1" } }),
      );
    } else res.end('{"resultCode":200}');
  };
}

test("ports come from the ledger, in its order; busy ones are reported and replaced", async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(26750, "0.0.0.0", r));
  const server = await new ReportServer(
    ledger((b) => ((b.busy ?? []).includes(26750) ? [26761, 26742] : [26750, 26742])),
  ).start();
  try {
    const r = await runDomeize(
      APP,
      podEnv(server, `${dir}/l1`, { ...RANGE, DOMEIZE_CONTAINER: "web" }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "26761 26742\n");
    const asks = server.requests.filter((q) => q.url.endsWith("/ports"));
    assert.equal(asks.length, 2);
    assert.deepEqual(JSON.parse(asks[0].body), { count: 2, container: "web" });
    assert.deepEqual(JSON.parse(asks[1].body), { count: 2, container: "web", busy: [26750] });
    assert.equal(asks[0].url, "/api/agent/pod/c1/ns1/pod-a/ports");
    const report = JSON.parse(server.annotations()[0].body);
    assert.deepEqual(report, { AUTO_PORT0_web: "26761", AUTO_PORT1_web: "26742" });
  } finally {
    blocker.close();
    await server.stop();
  }
});

test("a server without the endpoint (404): local reservation, and it is not asked again", async () => {
  const server = await new ReportServer((q, res) => {
    if (q.url.endsWith("/ports")) {
      res.statusCode = 404;
      res.end("<html>not found</html>");
    } else res.end('{"resultCode":200}');
  }).start();
  try {
    const env = podEnv(server, `${dir}/l2`, RANGE);
    const r1 = await runDomeize(APP, env);
    assert.equal(r1.code, 0, r1.stderr);
    const r2 = await runDomeize(APP, env);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout, r1.stdout, "sticky: the restart got the same ports");
    assert.equal(server.requests.filter((q) => q.url.endsWith("/ports")).length, 1);
    assert.equal(server.annotations().length, 2);
  } finally {
    await server.stop();
  }
});

test("409 (no status.hostIP yet) is retried with backoff, not allocated locally at once; HOST_IP goes as host", async () => {
  let asked = 0;
  const assign = ledger(() => [26771, 26772]);
  const server = await new ReportServer((q, res) => {
    if (q.url.endsWith("/ports") && ++asked <= 2) {
      res.statusCode = 409;
      res.end(
        '{"resultCode":409,"resultMsg":"pod ns1/pod-a has no status.hostIP yet","result":null}',
      );
    } else assign(q, res);
  }).start();
  try {
    const r = await runDomeize(
      APP,
      podEnv(server, `${dir}/l3`, { ...RANGE, HOST_IP: "127.0.0.1" }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "26771 26772\n", "the ledger's ports, after two 409s");
    assert.match(
      r.stderr,
      /port ledger answered HTTP 409 .*no status.hostIP yet.*; asking again in \d+ms/,
    );
    const asks = server.requests.filter((q) => q.url.endsWith("/ports"));
    assert.equal(asks.length, 3);
    for (const q of asks) assert.deepEqual(JSON.parse(q.body), { count: 2, host: "127.0.0.1" });
  } finally {
    await server.stop();
  }
});

test("DOMEOS_SERVER_ADDR lists servers: a refused one is skipped for the next (ledger and report); a trailing / is dropped", async () => {
  const down = await freePort();
  const server = await new ReportServer(ledger(() => [26781, 26782])).start();
  try {
    const env = podEnv(server, `${dir}/l4`, {
      ...RANGE,
      DOMEOS_SERVER_ADDR: `http://127.0.0.1:${down}/, ${server.addr}/`,
    });
    const r = await runDomeize(APP, env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "26781 26782\n");
    assert.deepEqual(
      server.requests.map((q) => q.url),
      ["/api/agent/pod/c1/ns1/pod-a/ports", "/api/agent/pod/c1/ns1/pod-a/annotation"],
    );
    assert.match(
      r.stderr,
      new RegExp(
        `report attempt 1 failed: http://127.0.0.1:${down}: ECONNREFUSED; trying ${server.addr}`,
      ),
    );
  } finally {
    await server.stop();
  }
});
