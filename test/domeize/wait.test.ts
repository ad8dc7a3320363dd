// -wait: every scheme, polled at the retry interval, all in parallel under
// one -timeout; the timeout error names each dependency still down.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import { after, before, test } from "node:test";
import { EXIT } from "../../src/domeize/exit.js";
import { freePort } from "../support/ports.js";
import { baseEnv, removeDir, runDomeize, tempDir } from "./helpers.js";

let dir: string;
before(() => {
  dir = tempDir();
});
after(() => removeDir(dir));

const FAST = ["-wait-retry-interval", "100ms"];

function listenLater(srv: Server, where: number | string, ms: number): void {
  setTimeout(() => srv.listen(where as never), ms);
}

test("tcp and unix: ready once something listens (started later)", async () => {
  const port = await freePort();
  const sock = `${dir}/s.sock`;
  const tcp = createServer((c) => c.destroy());
  const unix = createServer((c) => c.destroy());
  listenLater(tcp, port, 400);
  listenLater(unix, sock, 400);
  try {
    const r = await runDomeize(
      [
        ...FAST,
        "-timeout",
        "20s",
        "-wait",
        `tcp://127.0.0.1:${port}`,
        "-wait",
        `unix://${sock}`,
        "sh",
        "-c",
        "echo up",
      ],
      baseEnv({}),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "up\n");
  } finally {
    tcp.close();
    unix.close();
  }
});

test("file: ready when the file appears", async () => {
  const path = `${dir}/flag`;
  setTimeout(() => writeFileSync(path, ""), 300);
  const r = await runDomeize([...FAST, "-timeout", "20s", "-wait", `file://${path}`], baseEnv({}));
  assert.equal(r.code, 0, r.stderr);
});

test("http: 2xx is ready, 503 is not; custom headers are sent", async () => {
  let n = 0;
  const seen: string[] = [];
  const srv = createHttpServer((req, res) => {
    seen.push(String(req.headers["x-token"]));
    res.statusCode = ++n <= 2 ? 503 : 200;
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const a = srv.address();
  const port = typeof a === "object" && a !== null ? a.port : 0;
  try {
    const r = await runDomeize(
      [
        ...FAST,
        "-timeout",
        "20s",
        "-wait",
        `http://127.0.0.1:${port}/health`,
        "-wait-http-header",
        "X-Token: abc:def",
      ],
      baseEnv({}),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(n, 3, "polled until 2xx, at the retry interval");
    assert.deepEqual(seen, ["abc:def", "abc:def", "abc:def"]);
  } finally {
    srv.close();
  }
});

test("http: redirects are followed as Go's client does (302 -> 200 is ready; a redirect loop is not)", async () => {
  const seen: string[] = [];
  const srv = createHttpServer((req, res) => {
    seen.push(`${req.url} ${req.headers["x-token"]}`);
    if (req.url === "/health") res.writeHead(302, { Location: "/ready" });
    else if (req.url === "/ready") res.writeHead(200);
    else res.writeHead(307, { Location: req.url ?? "/" });
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const a = srv.address();
  const port = typeof a === "object" && a !== null ? a.port : 0;
  try {
    const ok = await runDomeize(
      [...FAST, "-wait", `http://127.0.0.1:${port}/health`, "-wait-http-header", "X-Token: t"],
      baseEnv({}),
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(seen, ["/health t", "/ready t"], "one check: the redirect, then its target");
    const loop = await runDomeize(
      // One check only (the retry interval outlasts the timeout): its reason
      // is the redirect limit, never a later check cut by the deadline.
      ["-wait-retry-interval", "30s", "-timeout", "5s", "-wait", `http://127.0.0.1:${port}/loop`],
      baseEnv({}),
    );
    assert.equal(loop.code, EXIT.wait);
    assert.match(loop.stderr, /stopped after 10 redirects/);
  } finally {
    srv.close();
  }
});

test("timeout names every dependency still down; exit 7; polling is not a busy loop", async () => {
  const port = await freePort();
  const t0 = Date.now();
  const r = await runDomeize(
    [
      "-wait-retry-interval",
      "200ms",
      "-timeout",
      "1s",
      "-wait",
      `tcp://127.0.0.1:${port}`,
      "-wait",
      `file://${dir}/never`,
      "sh",
      "-c",
      "echo ran",
    ],
    baseEnv({}),
  );
  assert.equal(r.code, EXIT.wait);
  assert.match(r.stderr, new RegExp(`tcp://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  assert.match(r.stderr, /file:\/\/.*never \(ENOENT\)/);
  assert.equal(r.stdout, "", "the app did not run");
  assert.ok(Date.now() - t0 < 15_000);
});
