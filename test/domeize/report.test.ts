// The report: the original request, retries with backoff on connection
// errors / 5xx / timeouts until the deadline, no retry on 4xx, and the app
// never starts with unreported ports.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { EXIT } from "../../src/domeize/exit.js";
import { resultCode } from "../../src/domeize/report.js";
import { freePort } from "../support/ports.js";
import { podEnv, ReportServer, removeDir, runDomeize, tempDir } from "./helpers.js";

let dir: string;
before(() => {
  dir = tempDir();
});
after(() => removeDir(dir));

const APP = ["sh", "-c", 'echo "app ran $AUTO_PORT0 $AUTO_PORT1"'];

test("success: PUT with sorted keys, string values, bearer token; app gets the ports", async () => {
  const server = await new ReportServer().start();
  try {
    const env = podEnv(server, `${dir}/ok`, { NEED_PORTS: "11", DOMEOS_AGENT_TOKEN: "s3cret" });
    const r = await runDomeize(APP, env);
    assert.equal(r.code, 0, r.stderr);
    const [rep] = server.annotations();
    assert.equal(rep.method, "PUT");
    assert.equal(rep.url, "/api/agent/pod/c1/ns1/pod-a/annotation");
    assert.equal(rep.headers["content-type"], "application/json");
    assert.equal(rep.headers.authorization, "Bearer s3cret");
    const body = JSON.parse(rep.body) as Record<string, string>;
    assert.deepEqual(Object.keys(body), [
      "AUTO_PORT0",
      "AUTO_PORT1",
      "AUTO_PORT10",
      "AUTO_PORT2",
      "AUTO_PORT3",
      "AUTO_PORT4",
      "AUTO_PORT5",
      "AUTO_PORT6",
      "AUTO_PORT7",
      "AUTO_PORT8",
      "AUTO_PORT9",
    ]);
    assert.ok(Object.values(body).every((v) => typeof v === "string" && /^\d+$/.test(v)));
    assert.equal(new Set(Object.values(body)).size, 11);
    assert.equal(
      r.stdout,
      `app ran ${body.AUTO_PORT0} ${body.AUTO_PORT1}\n`,
      "nothing but the app on stdout",
    );
  } finally {
    await server.stop();
  }
});

test("resultCode is matched case-insensitively, as Go's json does", () => {
  assert.equal(resultCode('{"ResultCode":200}')?.code, 200);
  assert.equal(resultCode('{"resultcode":200}')?.code, 200);
  assert.equal(resultCode('{"resultCode":"200"}')?.code, undefined);
  assert.equal(resultCode("nope"), undefined);
});

test("HTTP 500: retried with backoff until the deadline, then exit 6, app never runs", async () => {
  const server = await new ReportServer((_q, res) => {
    res.statusCode = 500;
    res.end("boom");
  }).start();
  try {
    const env = podEnv(server, `${dir}/500`, { DOMEIZE_REPORT_DEADLINE: "1500ms" });
    const r = await runDomeize(APP, env);
    assert.equal(r.code, EXIT.report);
    assert.ok(
      server.annotations().length >= 3,
      `retried (${server.annotations().length} attempts)`,
    );
    assert.ok(server.annotations().length <= 8, "with backoff, not a busy loop");
    assert.match(r.stderr, /HTTP 500: boom/);
    assert.doesNotMatch(r.stdout, /app ran/);
  } finally {
    await server.stop();
  }
});

test("transient 503 then 200: success after retries", async () => {
  let n = 0;
  const server = await new ReportServer((q, res) => {
    if (!q.url.endsWith("/annotation")) {
      res.statusCode = 404; // no port ledger on this server
      res.end();
    } else if (++n <= 2) {
      res.statusCode = 503;
      res.end();
    } else res.end('{"resultCode":200}');
  }).start();
  try {
    const r = await runDomeize(APP, podEnv(server, `${dir}/503`));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.annotations().length, 3);
    assert.match(r.stdout, /app ran/);
  } finally {
    await server.stop();
  }
});

test("4xx: no retry, exit 6", async () => {
  const server = await new ReportServer((_q, res) => {
    res.statusCode = 403;
    res.end('{"resultCode":403,"resultMsg":"forbidden"}');
  }).start();
  try {
    const r = await runDomeize(APP, podEnv(server, `${dir}/403`));
    assert.equal(r.code, EXIT.report);
    assert.equal(server.annotations().length, 1);
    assert.match(r.stderr, /HTTP 403.*not retried/);
  } finally {
    await server.stop();
  }
});

test("200 with resultCode 400: no retry, exit 6", async () => {
  const server = await new ReportServer((_q, res) =>
    res.end('{"resultCode":400,"resultMsg":"bad key"}'),
  ).start();
  try {
    const r = await runDomeize(APP, podEnv(server, `${dir}/rc400`));
    assert.equal(r.code, EXIT.report);
    assert.equal(server.annotations().length, 1);
    assert.match(r.stderr, /resultCode 400: bad key/);
  } finally {
    await server.stop();
  }
});

test("server down (connection refused): retries, exit 6 near the deadline", async () => {
  const port = await freePort();
  const server = new ReportServer();
  server.port = port; // nobody listens there
  const r = await runDomeize(
    APP,
    podEnv(server, `${dir}/down`, { DOMEIZE_REPORT_DEADLINE: "1200ms" }),
  );
  assert.equal(r.code, EXIT.report);
  assert.match(r.stderr, /ECONNREFUSED/);
  assert.match(r.stderr, /gave up after [2-9]\d* attempts/);
  assert.ok(r.ms < 8000, `took ${r.ms}ms`);
});

test("hanging server: per-request timeout, retries, then exit 6", async () => {
  const hang = createServer(() => undefined); // accepts, never answers
  await new Promise<void>((r) => hang.listen(0, "127.0.0.1", r));
  const addr = hang.address();
  const server = new ReportServer();
  server.port = typeof addr === "object" && addr !== null ? addr.port : 0;
  try {
    const env = podEnv(server, `${dir}/hang`, {
      DOMEIZE_REPORT_DEADLINE: "2s",
      DOMEIZE_REPORT_TIMEOUT: "400ms",
    });
    const r = await runDomeize(APP, env);
    assert.equal(r.code, EXIT.report);
    assert.match(r.stderr, /no answer within 400ms/);
    assert.match(r.stderr, /gave up after [2-9] attempts/);
    assert.ok(r.ms < 10_000, `took ${r.ms}ms`);
  } finally {
    hang.close();
  }
});

test("templates staged during the report: a failed report leaves every destination untouched, no temp file", async () => {
  const server = await new ReportServer((_q, res) => {
    res.statusCode = 403;
    res.end("no");
  }).start();
  try {
    const out = `${dir}/staged-out`;
    mkdirSync(out);
    writeFileSync(`${dir}/staged.tmpl`, "port {{ .Env.AUTO_PORT0 }}\n");
    writeFileSync(`${out}/old.conf`, "old\n");
    const args = ["-template", `${dir}/staged.tmpl:${out}/old.conf`];
    args.push("-template", `${dir}/staged.tmpl:${out}/new.conf`, ...APP);
    const r = await runDomeize(args, podEnv(server, `${dir}/staged-state`));
    assert.equal(r.code, EXIT.report);
    assert.equal(readFileSync(`${out}/old.conf`, "utf8"), "old\n");
    assert.equal(existsSync(`${out}/new.conf`), false);
    assert.deepEqual(readdirSync(out), ["old.conf"], "temp files removed");
    // Reported fine: both in place.
    server.reply = (_q, res) => res.end('{"resultCode":200}');
    const ok = await runDomeize(args, podEnv(server, `${dir}/staged-state`));
    assert.equal(ok.code, 0, ok.stderr);
    const port = JSON.parse(server.annotations().at(-1)?.body ?? "{}").AUTO_PORT0;
    assert.equal(readFileSync(`${out}/old.conf`, "utf8"), `port ${port}\n`);
    assert.equal(readFileSync(`${out}/new.conf`, "utf8"), `port ${port}\n`);
    assert.deepEqual(readdirSync(out).sort(), ["new.conf", "old.conf"]);
  } finally {
    await server.stop();
  }
});

test("a template execution error is raised after the report, as before: exit 4, nothing written", async () => {
  const server = await new ReportServer().start();
  try {
    const out = `${dir}/exec-err-out`;
    mkdirSync(out);
    writeFileSync(`${dir}/exec-err.tmpl`, '{{ .Env.AUTO_PORT0 }}{{ fail "no" }}');
    const r = await runDomeize(
      ["-template", `${dir}/exec-err.tmpl:${out}/x.conf`, ...APP],
      podEnv(server, `${dir}/exec-err-state`),
    );
    assert.equal(r.code, EXIT.template, r.stderr);
    assert.equal(server.annotations().length, 1, "reported first");
    assert.deepEqual(readdirSync(out), []);
  } finally {
    await server.stop();
  }
});
