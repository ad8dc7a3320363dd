// The console's rollout panel in headless Chromium, on a server with
// --runtime kubernetes against the FAKE apiserver and its FAKE Deployment
// controller (test/store/fake-apps.ts; no real cluster runs here): progress
// of the latest rollout, an update through the form (a new revision rolls),
// a revision whose pods never become Ready (Failed with the controller's
// reason while the old pods serve), a rollback from the history, and bad
// input answered with a clear error and no change. Screenshots go to
// test-artifacts/console/.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { consoleExtension } from "../../src/console/extension.js";
import { repoRoot } from "../../src/main/repo-root.js";
import { KubernetesRuntime } from "../../src/server/deploy/kubernetes-runtime.js";
import type { RunningServer } from "../../src/server/server.js";
import {
  ADMIN,
  bearer,
  makeStore,
  request,
  type StoreFixture,
  startTestServer,
} from "../server/helpers.js";
import { FakeApiServer } from "../store/fake-apiserver.js";
import { type Browser, launchChromium, widthAt700 } from "./browser.js";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects read as plain JSON
type Json = any;

const api = new FakeApiServer();
let fx: StoreFixture;
let srv: RunningServer;
let browser: Browser;
let page: Page;
const artifacts = join(repoRoot(), "test-artifacts", "console");
const T = { timeout: 30_000 };

const admin = (method: string, path: string, body?: unknown) =>
  request(method, `${srv.url}${path}`, body, bearer(ADMIN));
const colorOf = (template: Json): string | undefined =>
  (template.spec.containers[0].env ?? []).find((e: Json) => e.name === "COLOR")?.value;

before(async () => {
  await api.start();
  // pods of a revision with COLOR=broken never become Ready (a crash loop)
  api.apps.podsNeverReady((t) => colorOf(t) === "broken");
  fx = await makeStore("embedded");
  srv = await startTestServer(fx.store, {
    runtime: new KubernetesRuntime(api.kubeConfig()),
    publicUrl: "http://domeos:8080",
    extend: (s) => consoleExtension(s),
  });
  const r = await admin("POST", "/api/deployments", {
    name: "web",
    namespace: "shop",
    image: "reg/web:1",
    ports: 1,
    replicas: 3,
    env: { COLOR: "blue" },
  });
  assert.equal(r.status, 201, r.text);
  mkdirSync(artifacts, { recursive: true });
  browser = await launchChromium();
  page = await browser.context.newPage();
  await page.goto(`${srv.url}/console/#token=${ADMIN}`);
});

after(async () => {
  await browser?.close();
  await srv?.close();
  await fx?.destroy();
  await api.stop();
});

// browser-side code is given as strings: this project compiles without the DOM library
const waitJs = (expr: string) => page.waitForFunction(expr, undefined, T);
const panel = () => page.locator('#rollout[data-deployment="shop/web"]');
const phaseIs = (phase: string, revision: number) =>
  waitJs(
    `document.querySelector("#rollout .phase-badge")?.dataset.phase === ${JSON.stringify(phase)} &&
     document.querySelector("#rollout .revision")?.textContent === "revision ${revision}"`,
  );
const count = (name: string) => panel().locator(`dd[data-count="${name}"]`).innerText();
const historyRevisions = async () =>
  (await panel()
    .locator("table.history tbody tr")
    .evaluateAll((rows) =>
      rows.map((r) => Number((r as unknown as { dataset: { revision: string } }).dataset.revision)),
    )) as number[];

test("the panel shows the latest rollout (revision 1, complete) and the history", async () => {
  await page.locator('tr[data-deployment="shop/web"] button.rollout-open').click();
  await panel().waitFor(T);
  await phaseIs("Complete", 1);
  for (const [k, v] of [
    ["desired", "3"],
    ["updated", "3"],
    ["ready", "3"],
    ["available", "3"],
    ["old pods", "0"],
  ])
    assert.equal(await count(k!), v, k);
  assert.deepEqual(await historyRevisions(), [1]);
  assert.equal(await panel().locator('tr[data-revision="1"] .current').innerText(), "current");
  assert.equal(await panel().locator('#update textarea[name="env"]').inputValue(), "COLOR=blue");
  assert.equal(await panel().locator('#update input[name="image"]').inputValue(), "reg/web:1");
  assert.doesNotMatch(await panel().innerText(), /undefined|null|NaN/);
});

test("an env change through the form rolls revision 2 on Kubernetes", async () => {
  await panel().locator('#update textarea[name="env"]').fill("COLOR=green");
  await panel().locator('#update button[type="submit"]').click();
  await phaseIs("Complete", 2);
  assert.deepEqual(await historyRevisions(), [2, 1]);
  const two = panel().locator('tr[data-revision="2"]');
  assert.match(await two.locator(".cause").innerText(), /^update: env$/);
  assert.match(await two.locator(".what").innerText(), /reg\/web:1\s+COLOR=green/);
  assert.equal(await panel().locator('tr[data-revision="1"] button.rollback').count(), 1);
  const dep = api.apps.get("Deployment", "shop", "web")!;
  assert.equal(colorOf(dep.spec.template), "green");
});

test("a revision whose pods never become Ready: progress, then Failed with the reason; the old pods serve", async () => {
  await panel().locator('#update textarea[name="env"]').fill("COLOR=broken");
  await panel().locator('#update button[type="submit"]').click();
  await phaseIs("Progressing", 3);
  await waitJs(`document.querySelector('#rollout dd[data-count="old pods"]')?.textContent === "3"`);
  assert.equal(await count("updated"), "1", "one surge pod");
  assert.equal(await count("available"), "3", "surge 1, unavailable 0: the old pods serve");
  assert.equal(api.apps.exceedProgressDeadline("shop", "web"), true);
  await phaseIs("Failed", 3);
  assert.match(
    await panel().locator(".reason").innerText(),
    /^ReplicaSet "web-\w+" has timed out progressing\.$/,
  );
  writeFileSync(join(artifacts, "rollout-failed.png"), await page.screenshot({ fullPage: true }));
});

test("rollback to revision 2 from the history: Kubernetes adopts its ReplicaSet as revision 4", async () => {
  let question = "";
  page.once("dialog", (d) => {
    question = d.message();
    void d.accept();
  });
  await panel().locator('tr[data-revision="2"] button.rollback').click();
  await phaseIs("Complete", 4);
  assert.equal(question, "Roll shop/web back to revision 2?");
  assert.deepEqual(await historyRevisions(), [4, 3, 1]);
  assert.match(
    await panel().locator('tr[data-revision="4"] .cause').innerText(),
    /^rollback to 2$/,
  );
  assert.equal(await panel().locator('tr[data-revision="4"] .current').count(), 1);
  assert.equal(await panel().locator('#update textarea[name="env"]').inputValue(), "COLOR=green");
  const sets = api.apps.replicaSets("shop");
  const four = sets.find(
    (rs: Json) => rs.metadata.annotations["deployment.kubernetes.io/revision"] === "4",
  )!;
  assert.equal(four.metadata.annotations["deployment.kubernetes.io/revision-history"], "2");
  assert.equal(colorOf(four.spec.template), "green");
  writeFileSync(join(artifacts, "rollout-1280.png"), await page.screenshot({ fullPage: true }));
});

test("bad input: a clear error, nothing changed", async () => {
  const before = api.apps.get("Deployment", "shop", "web")!;
  const form = panel().locator("#update");
  const box = form.locator("#update-error");
  await form.locator('textarea[name="env"]').fill("not a pair");
  await form.locator('button[type="submit"]').click();
  await box.waitFor({ state: "visible", ...T });
  assert.match(await box.innerText(), /env line 1: "not a pair" must be NAME=value/);
  await form.locator('textarea[name="env"]').fill("1BAD=x");
  await form.locator('button[type="submit"]').click();
  await waitJs(`/1BAD/.test(document.querySelector("#update-error")?.textContent ?? "")`);
  assert.match(await box.innerText(), /env name "1BAD" is not a valid variable name/);
  await api.apps.controllerIdle();
  const now = api.apps.get("Deployment", "shop", "web")!;
  assert.equal(now.metadata.resourceVersion, before.metadata.resourceVersion);
});

test("700 px wide: the panel does not scroll sideways", async () => {
  const w = await widthAt700(page, join(artifacts, "rollout-700.png"));
  assert.ok(w.scroll <= w.inner, `horizontal overflow at 700 px: ${JSON.stringify(w)}`);
});
