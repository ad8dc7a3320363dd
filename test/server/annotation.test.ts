// The compatible agent API: PUT .../annotation on real stores.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mintDeploymentToken } from "../../src/server/auth/pod-token.js";
import type { RunningServer } from "../../src/server/server.js";
import { podKey } from "../../src/store/store.js";
import {
  agentUrl,
  annotationsOf,
  bearer,
  makeStore,
  podToken,
  putPod,
  request,
  SECRET,
  STORE_KINDS,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

const tok = (ns: string, pod: string) => bearer(podToken(ns, pod));

for (const kind of STORE_KINDS) {
  describe(`agent annotation API on ${kind}`, () => {
    let fx: StoreFixture;
    let srv: RunningServer;
    before(async () => {
      fx = await makeStore(kind);
      srv = await startTestServer(fx.store);
    });
    after(async () => {
      await srv.close();
      await fx.destroy();
    });

    test("compatible PUT merges string values and answers the DomeOS envelope", async () => {
      await putPod(fx.store, "default", "web-1", {
        deployName: "web",
        annotations: { keep: "me" },
      });
      const r = await request(
        "PUT",
        agentUrl(srv.url, "default", "web-1", "annotation"),
        { AUTO_PORT0: "20185", AUTO_PORT1: "20888" },
        tok("default", "web-1"),
      );
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { resultCode: 200, resultMsg: "OK", result: null });
      assert.deepEqual(await annotationsOf(fx.store, "default", "web-1"), {
        keep: "me",
        deployName: "web",
        accessType: "DIY",
        AUTO_PORT0: "20185",
        AUTO_PORT1: "20888",
      });
    });

    test("per-container keys: AUTO_PORT<n>_<container>, AUTO_PORT<n>.<container>, AUTO_PORTS", async () => {
      await putPod(fx.store, "default", "multi");
      const body = {
        AUTO_PORT0_sidecar: "20100",
        "AUTO_PORT0.log": "20101",
        AUTO_PORTS: "20102,20103",
      };
      const r = await request(
        "PUT",
        agentUrl(srv.url, "default", "multi", "annotation"),
        body,
        tok("default", "multi"),
      );
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(await annotationsOf(fx.store, "default", "multi"), body);
    });

    test("100 concurrent PUTs of distinct keys to one pod all land", async () => {
      await putPod(fx.store, "default", "busy", { size: 4000, needPorts: 100, hostIP: "10.0.2.1" });
      const got = await request(
        "POST",
        agentUrl(srv.url, "default", "busy", "ports"),
        { count: 100 },
        tok("default", "busy"),
      );
      const ports = (got.body.result as { ports: number[] }).ports;
      const rs = await Promise.all(
        ports.map((port, i) =>
          request(
            "PUT",
            agentUrl(srv.url, "default", "busy", "annotation"),
            { [`AUTO_PORT${i}`]: String(port) },
            tok("default", "busy"),
          ),
        ),
      );
      assert.deepEqual(
        rs.map((r) => r.status),
        rs.map(() => 200),
      );
      const ann = await annotationsOf(fx.store, "default", "busy");
      for (let i = 0; i < 100; i++)
        assert.equal(ann[`AUTO_PORT${i}`], String(ports[i]), `AUTO_PORT${i}`);
    });

    test("a deployment token is exchanged for the pod's own token, for pods of that deployment only", async () => {
      await putPod(fx.store, "default", "web-abc", { deployName: "web", hostIP: "10.0.3.1" });
      await putPod(fx.store, "default", "db-abc", { deployName: "db" });
      const t = bearer(mintDeploymentToken(SECRET, "default", "default", "web"));
      const direct = await request(
        "PUT",
        agentUrl(srv.url, "default", "web-abc", "annotation"),
        { AUTO_PORT0: "20001" },
        t,
      );
      assert.equal(direct.status, 403, direct.text);
      assert.match(String(direct.body.resultMsg), /exchange it for the pod's own token/);
      const ex = await request(
        "POST",
        `${srv.url}/api/agent/pod/default/default/web-abc/token`,
        { uid: "uid-default-web-abc" },
        t,
      );
      assert.equal(ex.status, 200, ex.text);
      const own = (ex.body.result as { token: string }).token;
      const ok = await request(
        "PUT",
        agentUrl(srv.url, "default", "web-abc", "annotation"),
        { AUTO_PORT0: "20001" },
        bearer(own),
      );
      assert.equal(ok.status, 200, ok.text);
      const bad = await request(
        "PUT",
        agentUrl(srv.url, "default", "db-abc", "annotation"),
        { AUTO_PORT0: "20001" },
        t,
      );
      assert.equal(bad.status, 403);
      assert.equal((await annotationsOf(fx.store, "default", "db-abc")).AUTO_PORT0, undefined);
    });

    describe("rejections change nothing", () => {
      const ns = "default";
      const pod = "guarded";
      let before0: string;
      before(async () => {
        await putPod(fx.store, ns, pod, { deployName: "g", annotations: { AUTO_PORT0: "20000" } });
        before0 = (await fx.store.get(podKey(ns, pod)))!.value;
      });
      const url = () => agentUrl(srv.url, ns, pod, "annotation");
      const unchanged = async () =>
        assert.equal((await fx.store.get(podKey(ns, pod)))!.value, before0);
      const cases: [
        string,
        () => Promise<{ status: number; body: Record<string, unknown> }>,
        number,
        RegExp,
      ][] = [
        [
          "no credential",
          () => request("PUT", url(), { AUTO_PORT0: "20001" }),
          401,
          /missing credential/,
        ],
        [
          "another pod's credential",
          () => request("PUT", url(), { AUTO_PORT0: "20001" }, tok(ns, "other")),
          403,
          /not valid for this pod/,
        ],
        [
          "garbage credential",
          () => request("PUT", url(), { AUTO_PORT0: "20001" }, bearer("nope")),
          403,
          /not valid/,
        ],
        [
          "deployName key",
          () => request("PUT", url(), { deployName: "evil" }, tok(ns, pod)),
          403,
          /owned by the server/,
        ],
        [
          "accessType key",
          () => request("PUT", url(), { accessType: "x" }, tok(ns, pod)),
          403,
          /owned by the server/,
        ],
        [
          "unknown key",
          () => request("PUT", url(), { foo: "bar" }, tok(ns, pod)),
          403,
          /"foo" is not allowed/,
        ],
        [
          "port out of range",
          () => request("PUT", url(), { AUTO_PORT0: "80" }, tok(ns, pod)),
          400,
          /not a port in the allowed range 20000-20999/,
        ],
        [
          "injection in a port",
          () => request("PUT", url(), { AUTO_PORT0: "20001;}" }, tok(ns, pod)),
          400,
          /AUTO_PORT0/,
        ],
        [
          "number instead of string",
          () => request("PUT", url(), { AUTO_PORT0: 20001 }, tok(ns, pod)),
          400,
          /must be a JSON string/,
        ],
        [
          "malformed JSON",
          () => request("PUT", url(), '{"AUTO_PORT0":', tok(ns, pod)),
          400,
          /not valid JSON/,
        ],
        [
          "JSON array",
          () => request("PUT", url(), "[1]", tok(ns, pod)),
          400,
          /must be a JSON object/,
        ],
        ["empty body", () => request("PUT", url(), "", tok(ns, pod)), 400, /empty/],
        [
          "huge body",
          () =>
            request("PUT", url(), { AUTO_PORT0: "20001", pad: "x".repeat(70_000) }, tok(ns, pod)),
          413,
          /65536-byte limit/,
        ],
        [
          "bad AUTO_PORTS list",
          () => request("PUT", url(), { AUTO_PORTS: "20001,abc" }, tok(ns, pod)),
          400,
          /AUTO_PORTS/,
        ],
      ];
      for (const [name, run, status, msg] of cases) {
        test(name, async () => {
          const r = await run();
          assert.equal(r.status, status, JSON.stringify(r.body));
          assert.equal(r.body.resultCode, status);
          assert.match(String(r.body.resultMsg), msg);
          await unchanged();
        });
      }
      test("odd names are 400 and touch no key", async () => {
        for (const path of [
          "/api/agent/pod/default/default/..%2Fguarded/annotation",
          "/api/agent/pod/default/Default/guarded/annotation",
          "/api/agent/pod/default/default/a%20b/annotation",
          "/api/agent/pod/default/default/Guarded/annotation",
          "/api/agent/pod/default/default/-x/annotation",
        ]) {
          const r = await request("PUT", srv.url + path, { AUTO_PORT0: "20001" }, tok(ns, pod));
          assert.equal(r.status, 400, path);
          assert.match(String(r.body.resultMsg), /not a valid/);
        }
        const r = await request("PUT", `${srv.url}/api/agent/pod/default/default//annotation`, {
          AUTO_PORT0: "20001",
        });
        assert.ok(r.status >= 400 && r.status < 500);
        await unchanged();
      });
    });

    test("unknown cluster and unknown pod are 404 with the name", async () => {
      const c = await request(
        "PUT",
        agentUrl(srv.url, "default", "p", "annotation", "mars"),
        { AUTO_PORT0: "20001" },
        bearer(podToken("default", "p", "mars")),
      );
      assert.equal(c.status, 404);
      assert.match(String(c.body.resultMsg), /unknown cluster "mars"/);
      const p = await request(
        "PUT",
        agentUrl(srv.url, "default", "ghost", "annotation"),
        { AUTO_PORT0: "20001" },
        tok("default", "ghost"),
      );
      assert.equal(p.status, 404);
      assert.match(String(p.body.resultMsg), /pod default\/ghost not found/);
      assert.equal(await fx.store.get(podKey("default", "ghost")), null);
    });
  });
}

describe("--allow-unauthenticated-agents", () => {
  test("accepts credential-less reports but still checks keys and values", async () => {
    const fx = await makeStore("embedded");
    const lines: string[] = [];
    const { jsonLogger } = await import("../../src/server/log/logger.js");
    const srv = await startTestServer(fx.store, {
      allowUnauthenticatedAgents: true,
      logger: jsonLogger("info", { write: (s: string) => lines.push(s) }),
    });
    try {
      await putPod(fx.store, "default", "old-image");
      const ok = await request("PUT", agentUrl(srv.url, "default", "old-image", "annotation"), {
        AUTO_PORT0: "20010",
      });
      assert.equal(ok.status, 200);
      assert.equal((await annotationsOf(fx.store, "default", "old-image")).AUTO_PORT0, "20010");
      assert.ok(
        lines.some((l) => /unauthenticated agent request accepted/.test(l)),
        "the acceptance is logged",
      );
      const bad = await request("PUT", agentUrl(srv.url, "default", "old-image", "annotation"), {
        deployName: "x",
      });
      assert.equal(bad.status, 403);
      const bad2 = await request("PUT", agentUrl(srv.url, "default", "old-image", "annotation"), {
        AUTO_PORT0: "1",
      });
      assert.equal(bad2.status, 400);
    } finally {
      await srv.close();
      await fx.destroy();
    }
  });
});
