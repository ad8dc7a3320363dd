// Tokens bound to the pod instance (issue 15), on real stores: a token of a
// deleted-and-recreated pod with the same name is refused (report and
// ports), even while the server still caches the old object; an expired
// token is 401; the legacy name-bound token only with
// --allow-unauthenticated-agents.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mintInstanceToken, mintPodToken } from "../../src/server/auth/pod-token.js";
import type { RunningServer } from "../../src/server/server.js";
import { podKey } from "../../src/store/store.js";
import {
  agentUrl,
  annotationsOf,
  bearer,
  makeStore,
  putPod,
  request,
  SECRET,
  STORE_KINDS,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

const token = (pod: string, uid: string, exp = 0) =>
  bearer(mintInstanceToken(SECRET, "default", "default", pod, uid, exp));

for (const kind of STORE_KINDS) {
  describe(`pod tokens on ${kind}`, () => {
    let fx: StoreFixture;
    let srv: RunningServer;
    const report = (pod: string, body: unknown, h: Record<string, string>) =>
      request("PUT", agentUrl(srv.url, "default", pod, "annotation"), body, h);
    const ports = (pod: string, body: unknown, h: Record<string, string>) =>
      request("POST", agentUrl(srv.url, "default", pod, "ports"), body, h);
    before(async () => {
      fx = await makeStore(kind);
      srv = await startTestServer(fx.store);
    });
    after(async () => {
      await srv.close();
      await fx.destroy();
    });

    test("a token of a deleted-and-recreated pod with the same name is refused", async () => {
      await putPod(fx.store, "default", "web-0", { uid: "uid-first", hostIP: "10.40.0.1" });
      const old = token("web-0", "uid-first");
      const got = await ports("web-0", { count: 1 }, old);
      assert.equal(got.status, 200, got.text);
      const p = (got.body.result as { ports: number[] }).ports[0]!;
      // the report leaves the first pod's object in the server's cache
      assert.equal((await report("web-0", { AUTO_PORT0: String(p) }, old)).status, 200);
      await fx.store.delete(podKey("default", "web-0"));
      await putPod(fx.store, "default", "web-0", { uid: "uid-second", hostIP: "10.40.0.1" });
      const r = await report("web-0", { AUTO_PORT0: String(p) }, old);
      assert.equal(r.status, 403, r.text);
      assert.match(String(r.body.resultMsg), /earlier pod of the same name|another instance now/);
      assert.equal((await annotationsOf(fx.store, "default", "web-0")).AUTO_PORT0, undefined);
      const a = await ports("web-0", { count: 1 }, old);
      assert.equal(a.status, 403, a.text);
      // the new pod's own token works
      const fresh = token("web-0", "uid-second");
      const n = await ports("web-0", { count: 1 }, fresh);
      assert.equal(n.status, 200, n.text);
      const np = (n.body.result as { ports: number[] }).ports[0]!;
      assert.equal((await report("web-0", { AUTO_PORT0: String(np) }, fresh)).status, 200);
    });

    test("an expired token is 401; an unexpired one works", async () => {
      await putPod(fx.store, "default", "ttl", { uid: "uid-ttl", hostIP: "10.40.0.2" });
      const past = Math.floor(Date.now() / 1000) - 5;
      const r = await ports("ttl", { count: 1 }, token("ttl", "uid-ttl", past));
      assert.equal(r.status, 401, r.text);
      assert.match(String(r.body.resultMsg), /the pod token expired at/);
      const future = Math.floor(Date.now() / 1000) + 3600;
      assert.equal((await ports("ttl", { count: 1 }, token("ttl", "uid-ttl", future))).status, 200);
      // the expiry is signed: changing it breaks the token
      const forged = mintInstanceToken(
        SECRET,
        "default",
        "default",
        "ttl",
        "uid-ttl",
        future,
      ).replace(`pod.${future}.`, `pod.${future + 1000}.`);
      assert.equal((await ports("ttl", { count: 1 }, bearer(forged))).status, 403);
    });

    test("the legacy name-bound token is refused, naming why", async () => {
      await putPod(fx.store, "default", "old", { hostIP: "10.40.0.3" });
      const r = await ports(
        "old",
        { count: 1 },
        bearer(mintPodToken(SECRET, "default", "default", "old")),
      );
      assert.equal(r.status, 403, r.text);
      assert.match(String(r.body.resultMsg), /bound to the pod's name only/);
    });
  });
}

describe("--allow-unauthenticated-agents keeps the original route", () => {
  test("the legacy token and no token are accepted (and logged)", async () => {
    const fx = await makeStore("embedded");
    const srv = await startTestServer(fx.store, { allowUnauthenticatedAgents: true });
    try {
      await putPod(fx.store, "default", "legacy", { hostIP: "10.40.0.4" });
      const t = bearer(mintPodToken(SECRET, "default", "default", "legacy"));
      const r = await request(
        "POST",
        agentUrl(srv.url, "default", "legacy", "ports"),
        { count: 1 },
        t,
      );
      assert.equal(r.status, 200, r.text);
      const none = await request("PUT", agentUrl(srv.url, "default", "legacy", "annotation"), {
        AUTO_PORT0: String((r.body.result as { ports: number[] }).ports[0]),
      });
      assert.equal(none.status, 200, none.text);
    } finally {
      await srv.close();
      await fx.destroy();
    }
  });
});
