// Validation at create and scale (issue 15): NUL bytes refused, replicas x
// ports checked against the port range ("needs N ports, range has M"),
// templates on this host parsed (the Go parse error with template:line).
// Nothing is stored and nothing starts when a request is refused.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DEPLOYMENT_PREFIX } from "../../src/server/deploy/repository.js";
import type { RunningServer } from "../../src/server/server.js";
import {
  ADMIN,
  bearer,
  makeStore,
  request,
  STORE_KINDS,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

for (const kind of STORE_KINDS) {
  describe(`deployment validation at create/scale on ${kind} (process runtime, range of 10)`, () => {
    let fx: StoreFixture;
    let srv: RunningServer;
    const dir = mkdtempSync(join(tmpdir(), "deploy-validation-"));
    const good = join(dir, "good.tmpl");
    const bad = join(dir, "bad.tmpl");
    writeFileSync(good, 'port {{ .Env.AUTO_PORT0 }} {{ default "x" .Env.NAME }}\n');
    writeFileSync(bad, "line one\nline two {{ end }}\nline three\n");
    const create = (body: Record<string, unknown>) =>
      request("POST", `${srv.url}/api/deployments`, body, bearer(ADMIN));
    const stored = async () => (await fx.store.list(DEPLOYMENT_PREFIX)).kvs.length;
    before(async () => {
      fx = await makeStore(kind);
      srv = await startTestServer(fx.store, {
        runtimeName: "process",
        portRange: { min: 30000, max: 30009 },
      });
    });
    after(async () => {
      await srv.close();
      await fx.destroy();
    });

    const app = { name: "app", command: ["/bin/sleep", "1000"], replicas: 0, ports: 2 };

    test("NUL bytes in the command or env: 400 naming the field", async () => {
      for (const [body, msg] of [
        [{ ...app, command: ["/bin/echo", "a\u0000b"] }, /command\[1\] contains a NUL byte/],
        [{ ...app, env: { A: "x\u0000y" } }, /env A contains a NUL byte/],
        [{ ...app, templates: [`${good}\u0000:out.conf`] }, /templates\[0\]/],
      ] as const) {
        const r = await create(body);
        assert.equal(r.status, 400, r.text);
        assert.match(String(r.body.resultMsg), msg);
      }
      assert.equal(await stored(), 0);
    });

    test("replicas x ports beyond the range: 400 'needs N ports, range has M'", async () => {
      const r = await create({ ...app, replicas: 6 });
      assert.equal(r.status, 400, r.text);
      assert.match(
        String(r.body.resultMsg),
        /needs 12 ports \(6 replicas x 2 ports on this host\), range 30000-30009 has 10/,
      );
      assert.equal(await stored(), 0);
    });

    test("a template that does not parse: 400 with template:line, nothing stored", async () => {
      const r = await create({ ...app, templates: [`${bad}:out.conf`] });
      assert.equal(r.status, 400, r.text);
      assert.match(
        String(r.body.resultMsg),
        new RegExp(
          `${bad.replace(/[.]/g, "\\.")} does not parse: template: bad\\.tmpl:2: unexpected \\{\\{end\\}\\}`,
        ),
      );
      assert.equal(await stored(), 0);
    });

    test("a good template and a fitting size are stored; scaling beyond the range is refused", async () => {
      const r = await create({ ...app, templates: [`${good}:out.conf`] });
      assert.equal(r.status, 201, r.text);
      // another deployment takes 4 of the 10 ports
      const other = await create({ ...app, name: "other", replicas: 2 });
      assert.equal(other.status, 201, other.text);
      const up = await request(
        "PATCH",
        `${srv.url}/api/deployments/default/app`,
        { replicas: 4 },
        bearer(ADMIN),
      );
      assert.equal(up.status, 400, up.text);
      assert.match(
        String(up.body.resultMsg),
        /needs 12 ports \(4 replicas x 2 ports on this host, plus 4 for the other deployments here\), range 30000-30009 has 10/,
      );
      const d = await request(
        "GET",
        `${srv.url}/api/deployments/default/app`,
        undefined,
        bearer(ADMIN),
      );
      assert.equal((d.body.result as { replicas: number }).replicas, 0, "unchanged");
      for (const n of ["app", "other"]) {
        const del = await request(
          "DELETE",
          `${srv.url}/api/deployments/default/${n}`,
          undefined,
          bearer(ADMIN),
        );
        assert.equal(del.status, 200, del.text);
      }
    });
  });
}

describe("ports per pod beyond the range (no runtime: pods spread over hosts)", () => {
  test("400 naming the per-pod need", async () => {
    const fx = await makeStore("embedded");
    const srv = await startTestServer(fx.store, { portRange: { min: 30000, max: 30009 } });
    try {
      const r = await request(
        "POST",
        `${srv.url}/api/deployments`,
        { name: "big", image: "registry.example/big:1", replicas: 50, ports: 20 },
        bearer(ADMIN),
      );
      assert.equal(r.status, 400, r.text);
      assert.match(
        String(r.body.resultMsg),
        /needs 20 ports \(20 ports per pod\), range 30000-30009 has 10/,
      );
      const ok = await request(
        "POST",
        `${srv.url}/api/deployments`,
        { name: "many", image: "registry.example/many:1", replicas: 50, ports: 5 },
        bearer(ADMIN),
      );
      assert.equal(ok.status, 201, ok.text);
    } finally {
      await srv.close();
      await fx.destroy();
    }
  });
});
