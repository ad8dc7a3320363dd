// Connection limits as documented (issue 15): an idle connection and slow
// headers are closed after the headers timeout (10 s, or the request timeout
// when shorter), a slow body after the request timeout; a slow client is
// logged at warn as a slow client, never as an error "status 500".
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { jsonLogger } from "../../src/server/log/logger.js";
import type { RunningServer } from "../../src/server/server.js";
import { makeStore, podToken, putPod, type StoreFixture, startTestServer } from "./helpers.js";

/** Open a connection, write `data`, and resolve with the ms until the server closes it. */
function closedAfter(url: string, data: string): Promise<{ ms: number; reply: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let reply = "";
    const s = connect(Number(u.port), u.hostname, () => s.write(data));
    s.on("data", (d) => {
      reply += d.toString();
    });
    s.on("error", () => {});
    s.on("close", () => resolve({ ms: performance.now() - t0, reply }));
    setTimeout(() => {
      s.destroy();
      reject(new Error("the server kept the connection open for 20 s"));
    }, 20_000).unref();
  });
}

for (const kind of ["embedded", "etcd"] as const) {
  describe(`timeouts on ${kind} (request timeout 3 s)`, () => {
    let fx: StoreFixture;
    let srv: RunningServer;
    const lines: string[] = [];
    before(async () => {
      fx = await makeStore(kind);
      srv = await startTestServer(fx.store, {
        requestTimeoutMs: 3000,
        logger: jsonLogger("info", { write: (s: string) => lines.push(s) }),
      });
      await putPod(fx.store, "default", "slow");
    });
    after(async () => {
      await srv.close();
      await fx.destroy();
    });

    test("an idle connection is closed after the headers timeout", async () => {
      const { ms } = await closedAfter(srv.url, "");
      assert.ok(ms >= 2500 && ms < 8000, `closed after ${Math.round(ms)} ms`);
    });

    test("slow headers are closed after the headers timeout", async () => {
      const { ms } = await closedAfter(
        srv.url,
        "PUT /api/agent/pod/default/default/slow/annotation HTTP/1.1\r\nHost: x\r\n",
      );
      assert.ok(ms >= 2500 && ms < 8000, `closed after ${Math.round(ms)} ms`);
    });

    test("a slow body: closed after the request timeout, logged at warn as a slow client", async () => {
      lines.length = 0;
      const head =
        "PUT /api/agent/pod/default/default/slow/annotation HTTP/1.1\r\nHost: x\r\n" +
        `Authorization: Bearer ${podToken("default", "slow")}\r\n` +
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
      const { ms } = await closedAfter(srv.url, head);
      assert.ok(ms >= 2500 && ms < 8000, `closed after ${Math.round(ms)} ms`);
      const deadline = Date.now() + 5000;
      while (!lines.some((l) => /slow client/.test(l)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const slow = lines.filter((l) => /slow client/.test(l)).map((l) => JSON.parse(l));
      assert.equal(slow.length, 1, lines.join(""));
      assert.equal(slow[0].level, "warn");
      assert.ok(!lines.some((l) => JSON.parse(l).level === "error"), lines.join(""));
    });
  });
}
