// A deployment whose template does not parse is refused at create with Go's
// own parse error, as domeize (and dockerize: template.New(filepath.Base(src)))
// would print it at the pod's start: `template: NAME:LINE: message`, NAME the
// file's base name. Go's parse errors carry no column (docs/compatibility.md).
// Expectations: test/fixtures/parse-errors/expected.json, recorded with Go
// 1.19's text/template (test/fixtures/gotmpl/oracle) on cases.json.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DEPLOYMENT_PREFIX } from "../../src/server/deploy/repository.js";
import type { RunningServer } from "../../src/server/server.js";
import { REPO_ROOT } from "../support/fixtures.js";
import {
  ADMIN,
  bearer,
  makeStore,
  request,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

interface Case {
  name: string;
  template: string;
}
interface Expected {
  name: string;
  error: string | null;
  errorKind: string | null;
}

const FIXTURES = join(REPO_ROOT, "test", "fixtures", "parse-errors");
const cases = JSON.parse(readFileSync(join(FIXTURES, "cases.json"), "utf8")) as Case[];
const expected = JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8")) as Expected[];

let fx: StoreFixture;
let srv: RunningServer;
const dir = mkdtempSync(join(tmpdir(), "template-errors-"));

before(async () => {
  fx = await makeStore("embedded");
  srv = await startTestServer(fx.store, { runtimeName: "process" });
});
after(async () => {
  await srv.close();
  await fx.destroy();
});

test("every fixture case is a parse error in Go", () => {
  assert.equal(expected.length, cases.length);
  for (const e of expected) assert.equal(e.errorKind, "parse", e.name);
});

for (const [i, c] of cases.entries()) {
  test(`${c.name}: 400 with Go's "${expected[i]?.error}", nothing stored`, async () => {
    const src = join(dir, c.name);
    writeFileSync(src, c.template);
    const r = await request(
      "POST",
      `${srv.url}/api/deployments`,
      {
        name: `t${i}`,
        command: ["/bin/sleep", "1000"],
        replicas: 0,
        ports: 1,
        templates: [`${src}:out.conf`],
      },
      bearer(ADMIN),
    );
    assert.equal(r.status, 400, r.text);
    assert.equal(
      r.body.resultMsg,
      `invalid deployment: templates: ${src} does not parse: ${expected[i]?.error}`,
    );
    assert.equal((await fx.store.list(DEPLOYMENT_PREFIX)).kvs.length, 0);
  });
}
