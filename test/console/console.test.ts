// The console in headless Chromium against a real standalone server (real
// processes through domeize, embedded store): it renders deployments and
// pods, creates/scales/deletes through the UI, shows validation errors
// without creating anything, and updates live (server-sent events, no reload).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { DemoConfd } from "../../src/main/demo-confd.js";
import { repoRoot } from "../../src/main/repo-root.js";
import { type Standalone, startStandalone } from "../../src/main/standalone-server.js";
import { freePort } from "../support/ports.js";
import { type Browser, launchChromium, widthAt700 } from "./browser.js";

let sa: Standalone;
let confd: DemoConfd;
let browser: Browser;
let page: Page;
const dir = mkdtempSync(join(tmpdir(), "console-test-"));
const app = join(repoRoot(), "examples", "demo-app");

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${sa.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${sa.adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { resultMsg: string; result: unknown } };
}

before(async () => {
  confd = new DemoConfd({
    confdir: join(dir, "confd"),
    node: dir,
    dest: join(dir, "upstream.conf"),
    metricsPort: await freePort(),
    logPath: join(dir, "confd.log"),
  });
  sa = await startStandalone({
    dataDir: dir,
    listen: "127.0.0.1:0",
    portRange: { min: 23000, max: 23199 },
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, resetAfterMs: 10_000 },
    graceMs: 2000,
    confd: [
      { name: "nginx upstream", dest: join(dir, "upstream.conf"), healthUrl: confd.healthUrl },
    ],
  });
  // real domeos-confd with the seed's template (no nginx here: no check or reload)
  confd.writeConfig();
  confd.start();
  const created = await api("POST", "/api/deployments", {
    name: "img-host-test",
    command: ["node", join(app, "server.mjs"), "config.json"],
    replicas: 2,
    ports: 1,
    templates: [`${join(app, "config.json.tmpl")}:config.json`],
  });
  assert.equal(created.status, 201, created.body.resultMsg);
  browser = await launchChromium();
  page = await browser.context.newPage();
  await page.goto(`${sa.url}/console/#token=${sa.adminToken}`);
  // a marker that a reload would wipe: live updates must keep it
  await page.evaluate("window.marker = 42");
});

after(async () => {
  await browser?.close();
  await sa?.close();
  await confd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// browser-side code is given as strings: this project compiles without the DOM library
const marker = () => page.evaluate("window.marker");
const waitJs = (expr: string) => page.waitForFunction(expr, undefined, { timeout: 30_000 });
const T = { timeout: 30_000 };

test("the console API needs the admin token", async () => {
  const res = await fetch(`${sa.url}/console/api/state`);
  assert.equal(res.status, 401);
  const ok = await fetch(`${sa.url}/console/api/state?token=${sa.adminToken}`);
  assert.equal(ok.status, 200);
  const state = (await ok.json()) as { deployments: { name: string }[] };
  assert.deepEqual(
    state.deployments.map((d) => d.name),
    ["img-host-test"],
  );
});

test("renders deployments, pods with ports, the port map and the upstream", async () => {
  const row = page.locator('tr[data-deployment="default/img-host-test"]');
  await row.waitFor(T);
  await waitJs(
    `/2\\/2 ready/.test(document.querySelector('tr[data-deployment="default/img-host-test"] .replicas')?.textContent ?? "")`,
  );
  assert.match(await row.innerText(), /img-host-test\s+default\s+host\s+2\/2 ready\s+1\s+node /);
  const pods = page.locator('article.pod.ok[data-pod^="default/img-host-test-"]');
  await pods.nth(1).waitFor(T);
  await waitJs(
    `[...document.querySelectorAll('article.pod[data-pod^="default/img-host-test-"] .auto-ports')]
      .filter((e) => /^AUTO_PORT0=23\\d{3}$/.test(e.textContent)).length === 2`,
  );
  await waitJs(
    `/listening on 23\\d{3}/.test(document.querySelector("article.pod .logs")?.textContent ?? "")`,
  );
  const host = page.locator('#ports .host[data-host="127.0.0.1"]');
  await host.waitFor(T);
  assert.match(await host.locator("h3").innerText(), /^127\.0\.0\.1: \d+ of 200 ports taken$/);
  // every pod's AUTO_PORT0 is listed as taken by that pod
  const taken = await host.locator("table.taken").innerText();
  const state = (await (
    await fetch(`${sa.url}/console/api/state?token=${sa.adminToken}`)
  ).json()) as {
    pods: { namespace: string; name: string; ports: Record<string, string> }[];
  };
  const demoPods = state.pods.filter((p) => p.name.startsWith("img-host-test-"));
  assert.equal(demoPods.length, 2);
  for (const p of demoPods) {
    assert.match(taken, new RegExp(`${p.ports.AUTO_PORT0}\\s+${p.namespace}/${p.name}`));
  }
  // the rendered upstream lists both pods, and domeos-confd's health is shown
  // `server 127.0.0.1:PORT;` or with parameters (`server 127.0.0.1:PORT max_fails=1 ...;`)
  const upstreamHas = demoPods.map((p) => `server 127.0.0.1:${p.ports.AUTO_PORT0}`);
  await waitJs(
    `${JSON.stringify(upstreamHas)}.every((l) => [";", " "].some((end) => document.querySelector("#confd pre")?.textContent.includes(l + end)))`,
  );
  await waitJs(
    `/^healthy · backend embedded connected/.test(document.querySelector("#confd .health")?.textContent ?? "")`,
  );
  assert.match(
    await page.locator("#confd .health").innerText(),
    /last render\/check\/reload: (updated|unchanged) at/,
  );
  assert.equal(await page.locator("#live").innerText(), "live");
});

test("a change made elsewhere arrives without a reload", async () => {
  const r = await api("PATCH", "/api/deployments/default/img-host-test", { replicas: 3 });
  assert.equal(r.status, 200, r.body.resultMsg);
  await page.locator('article.pod.ok[data-pod^="default/img-host-test-"]').nth(2).waitFor(T);
  await waitJs(
    `/3\\/3 ready/.test(document.querySelector('tr[data-deployment="default/img-host-test"] .replicas')?.textContent ?? "")`,
  );
  assert.equal(await marker(), 42, "the page was not reloaded");
});

test("create, scale and delete through the UI", async () => {
  await page.fill('#create input[name="name"]', "beta");
  await page.fill('#create input[name="command"]', "sleep 600");
  await page.fill('#create input[name="ports"]', "1");
  await page.fill('#create input[name="replicas"]', "1");
  await page.click('#create button[type="submit"]');
  const row = page.locator('tr[data-deployment="default/beta"]');
  await row.waitFor(T);
  await page.locator('article.pod[data-pod^="default/beta-"]').first().waitFor(T);

  await row.locator('input[type="number"]').fill("2");
  await row.locator("button.scale").click();
  await page.locator('article.pod[data-pod^="default/beta-"]').nth(1).waitFor(T);
  const stored = await api("GET", "/api/deployments/default/beta");
  assert.equal((stored.body.result as { replicas: number }).replicas, 2);

  // the first delete is dismissed in the confirmation: nothing happens
  page.once("dialog", (d) => void d.dismiss());
  await row.locator("button.delete").click();
  await page.waitForTimeout(300);
  assert.equal((await api("GET", "/api/deployments/default/beta")).status, 200);
  let question = "";
  page.once("dialog", (d) => {
    question = d.message();
    void d.accept();
  });
  await row.locator("button.delete").click();
  await row.waitFor({ state: "detached", ...T });
  assert.match(
    question,
    /^Delete deployment default\/beta\? Its 2 pod\(s\) will be drained and stopped\.$/,
  );
  await waitJs(`!document.querySelector('article.pod[data-pod^="default/beta-"]')`);
  assert.equal((await api("GET", "/api/deployments/default/beta")).status, 404);
  assert.equal(await marker(), 42);
});

test("bad input shows clear errors and creates nothing", async () => {
  const attempt = async (fields: Record<string, string>) => {
    await page.fill('#create input[name="name"]', fields.name ?? "gamma");
    await page.fill('#create input[name="command"]', fields.command ?? "sleep 600");
    await page.fill('#create input[name="ports"]', fields.ports ?? "1");
    await page.fill('#create textarea[name="templates"]', fields.templates ?? "");
    await page.click('#create button[type="submit"]');
    const box = page.locator("#create-error");
    await box.waitFor({ state: "visible", ...T });
    await waitJs(
      `document.querySelector("#create-error").textContent !== ${JSON.stringify(fields.prev ?? "")}`,
    );
    return box.innerText();
  };
  let msg = await attempt({ ports: "0" });
  assert.match(msg, /ports: a host-mode deployment exposes at least 1 port/);
  msg = await attempt({ name: "Bad_Name", prev: msg });
  assert.match(msg, /name "Bad_Name" is not a DNS-1123 label/);
  msg = await attempt({ ports: "101", prev: msg });
  assert.match(msg, /ports 101 must be an integer from 0 to 100/);
  msg = await attempt({ templates: "/no/such/file.tmpl:app.conf", prev: msg });
  assert.match(msg, /templates\[0\] source "\/no\/such\/file.tmpl" does not exist on this host/);
  msg = await attempt({ templates: `${join(app, "config.json.tmpl")}:/etc/passwd`, prev: msg });
  assert.match(msg, /destination "\/etc\/passwd" must be a relative path/);
  const list = await api("GET", "/api/deployments");
  assert.deepEqual(
    (list.body.result as { name: string }[]).map((d) => d.name),
    ["img-host-test"],
  );
  const pods = await sa.store.list("/registry/pods/default/gamma");
  assert.equal(pods.kvs.length, 0);
});

test("port map: every used cell sits in its row, next to the row's first port; hover names port and pod", async () => {
  await page.locator("#ports .grid .cell.used").first().waitFor(T);
  const rows = (await page.evaluate(`(() => {
    const out = [];
    let axis = null;
    for (const el of document.querySelector("#ports .grid").children) {
      if (el.classList.contains("axis")) { axis = el; continue; }
      if (!el.classList.contains("used")) continue;
      const a = axis.getBoundingClientRect(), c = el.getBoundingClientRect();
      out.push({ port: Number(el.dataset.port), first: Number(axis.textContent), title: el.title,
        axisMid: a.top + a.height / 2, cellMid: c.top + c.height / 2, cellH: c.height });
    }
    return out;
  })()`)) as {
    port: number;
    first: number;
    title: string;
    axisMid: number;
    cellMid: number;
    cellH: number;
  }[];
  assert.ok(rows.length >= 2, JSON.stringify(rows));
  for (const r of rows) {
    assert.ok(r.port >= r.first && r.port < r.first + 50, JSON.stringify(r));
    assert.ok(Math.abs(r.axisMid - r.cellMid) <= r.cellH, `cell off its row: ${JSON.stringify(r)}`);
    assert.match(r.title, new RegExp(`^${r.port}: default/`));
  }
});

test("pods get distinct colours, in the pod list and the port map", async () => {
  const colours = (await page.evaluate(
    `[...document.querySelectorAll("article.pod .swatch")].map((e) => getComputedStyle(e).backgroundColor)`,
  )) as string[];
  assert.ok(colours.length >= 3, JSON.stringify(colours));
  assert.equal(new Set(colours).size, colours.length, JSON.stringify(colours));
});

test("a crash-looping pod shows its reason and exit code", async () => {
  const r = await api("POST", "/api/deployments", {
    name: "crasher",
    command: ["node", "-e", "process.exit(3)"],
    replicas: 1,
    ports: 1,
  });
  assert.equal(r.status, 201, r.body.resultMsg);
  const card = page.locator('article.pod[data-pod^="default/crasher-"]');
  await card.waitFor(T);
  await waitJs(
    `/exit code 3/.test(document.querySelector('article.pod[data-pod^="default/crasher-"] .last-exit')?.textContent ?? "")`,
  );
  await waitJs(
    `/^CrashLoopBackOff \\(exit code 3\\)$/.test(document.querySelector('article.pod[data-pod^="default/crasher-"] .phase')?.textContent ?? "")`,
  );
  assert.match((await card.getAttribute("class")) ?? "", /\bbad\b/);
  page.once("dialog", (d) => void d.accept());
  await page.locator('tr[data-deployment="default/crasher"] button.delete').click();
  await card.waitFor({ state: "detached", ...T });
});

test("a rejected token says so", async () => {
  const other = await browser.context.newPage();
  try {
    await other.goto(`${sa.url}/console/#token=not-the-token`);
    await other.locator("#token-error").waitFor({ state: "visible", ...T });
    assert.match(
      await other.locator("#token-error").innerText(),
      /rejected that admin token \(401\)/,
    );
    assert.equal(await other.locator("#token-panel").isVisible(), true);
  } finally {
    await other.close();
  }
});

test("favicon, HEAD, and the upstream panel follows the rendered file", async () => {
  const icon = await fetch(`${sa.url}/console/favicon.svg`);
  assert.equal(icon.status, 200);
  assert.equal(icon.headers.get("content-type"), "image/svg+xml");
  const head = await fetch(`${sa.url}/console/`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.ok(Number(head.headers.get("content-length")) > 100);
  assert.equal(await head.text(), "");
  const post = await fetch(`${sa.url}/console/`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  // a change of the rendered file reaches the page (no store event involved)
  const dest = join(dir, "upstream.conf");
  const { readFileSync, renameSync } = await import("node:fs");
  writeFileSync(`${dest}.tmp`, `${readFileSync(dest, "utf8")}# marker-from-test\n`);
  renameSync(`${dest}.tmp`, dest);
  await waitJs(`/marker-from-test/.test(document.querySelector("#confd pre")?.textContent ?? "")`);
  assert.equal(await marker(), 42);
});

test("the rollout panel (process runtime): an env change rolls revision 2; rollback to 1 from the history", async () => {
  const panel = page.locator('#rollout[data-deployment="default/img-host-test"]');
  const rolledTo = (phase: string, revision: number) =>
    page.waitForFunction(
      `document.querySelector("#rollout .phase-badge")?.dataset.phase === ${JSON.stringify(phase)} &&
       document.querySelector("#rollout .revision")?.textContent === "revision ${revision}"`,
      undefined,
      { timeout: 120_000 },
    );
  const revisions = () =>
    panel
      .locator("table.history tbody tr")
      .evaluateAll((rows) =>
        rows.map((r) => (r as unknown as { dataset: { revision: string } }).dataset.revision),
      );
  await page.locator('tr[data-deployment="default/img-host-test"] button.rollout-open').click();
  await rolledTo("Complete", 1);
  await panel.locator('#update textarea[name="env"]').fill("GREETING=hello");
  await panel.locator('#update button[type="submit"]').click();
  await rolledTo("Complete", 2);
  assert.deepEqual(await revisions(), ["2", "1"]);
  assert.equal(await panel.locator('tr[data-revision="2"] .cause').innerText(), "update: env");
  // every pod of the deployment runs revision 2 (an old pod's deletion may still be landing)
  const podRevisions = async () => {
    const state = (await (
      await fetch(`${sa.url}/console/api/state?token=${sa.adminToken}`)
    ).json()) as { pods: { name: string; revision: string; ready: boolean }[] };
    return JSON.stringify(
      state.pods
        .filter((p) => p.name.startsWith("img-host-test-"))
        .map((p) => [p.revision, p.ready]),
    );
  };
  const want = JSON.stringify([
    ["2", true],
    ["2", true],
    ["2", true],
  ]);
  const end = Date.now() + 30_000;
  let seen = await podRevisions();
  while (seen !== want && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await podRevisions();
  }
  assert.equal(seen, want);
  page.once("dialog", (d) => void d.accept());
  await panel.locator('tr[data-revision="1"] button.rollback').click();
  await rolledTo("Complete", 3);
  assert.equal(await panel.locator('tr[data-revision="3"] .cause').innerText(), "rollback to 1");
  assert.equal(await panel.locator('#update textarea[name="env"]').inputValue(), "");
  assert.doesNotMatch(await panel.innerText(), /undefined|null|NaN/);
  assert.equal(await marker(), 42, "the page was not reloaded");
});

test("700 px wide: nothing scrolls sideways; screenshots kept", async () => {
  const artifacts = join(repoRoot(), "test-artifacts", "console");
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(join(artifacts, "console-1280.png"), await page.screenshot({ fullPage: true }));
  const w = await widthAt700(page, join(artifacts, "console-700.png"));
  assert.ok(w.scroll <= w.inner, `horizontal overflow at 700 px: ${JSON.stringify(w)}`);
});

test("screenshot: the page renders (not blank)", async () => {
  const png = await page.screenshot({ fullPage: true });
  const out = process.env.CONSOLE_SCREENSHOT ?? join(tmpdir(), "domeos-console.png");
  writeFileSync(out, png);
  // count distinct colours by decoding the PNG in the browser itself
  const colours = (await page.evaluate(`(async () => {
    const img = new Image();
    img.src = "data:image/png;base64,${png.toString("base64")}";
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4 * 7) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return { distinct: seen.size, width: c.width, height: c.height };
  })()`)) as { distinct: number; width: number; height: number };
  assert.ok(colours.width >= 1000 && colours.height >= 600, JSON.stringify(colours));
  assert.ok(colours.distinct > 50, `screenshot looks blank: ${JSON.stringify(colours)}`);
});
