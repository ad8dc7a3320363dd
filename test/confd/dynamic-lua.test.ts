// The Lua side of dynamic endpoints (src/confd/dynamic/lua/domeos_balancer.lua)
// in a real nginx with Debian's Lua module: member lists pushed to the
// loopback endpoint change where requests go without a reload (master and
// worker pids unchanged, no reload in the error log), round robin, retries
// past a dead member, keep-alive to the members, a bad member refused while
// the others apply, wrong secret 403, a body over the bound 413, concurrent
// pushes applied whole, a restart that empties the list (new boot id), and
// examples/confd-dynamic's nginx.conf and resource.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadModuleLines, luaDir } from "../../src/confd/dynamic/nginx-conf.js";
import { dynamicUpstreamBlock } from "../../src/confd/dynamic/split-upstreams.js";
import { loadResource } from "../../src/confd/resource/resource-config.js";
import { DemoNginx, NGINX_BIN, UPSTREAM_NAME } from "../../src/main/demo-nginx.js";
import { repoRoot } from "../../src/main/repo-root.js";
import { freePort } from "../support/ports.js";

/** A member: answers its name, counts the client connections it saw. */
interface Member {
  name: string;
  addr: string;
  server: Server;
  connections: number;
}

async function member(name: string): Promise<Member> {
  const m = { name, addr: "", connections: 0 } as Member;
  m.server = createServer((_q, s) => s.end(name));
  m.server.on("connection", () => m.connections++);
  await new Promise<void>((r) => m.server.listen(0, "127.0.0.1", r));
  m.addr = `127.0.0.1:${(m.server.address() as AddressInfo).port}`;
  return m;
}

const dir = mkdtempSync(join(tmpdir(), "dyn-lua-"));
let nginx: DemoNginx;
let secret: string;
const members: Member[] = [];
let seq = 0;

async function push(
  list: string[],
  opts: { secret?: string; upstream?: string; pusher?: string; seq?: number; body?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${nginx.membersUrl}/${opts.upstream ?? UPSTREAM_NAME}`, {
    method: "POST",
    headers: {
      "x-domeos-secret": opts.secret ?? secret,
      "x-domeos-pusher": opts.pusher ?? "test",
      "x-domeos-seq": String(opts.seq ?? ++seq),
    },
    body: opts.body ?? list.join("\n"),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

async function get(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${nginx.port}/`, { headers: { connection: "close" } });
  return res.ok ? res.text() : `HTTP ${res.status}`;
}

async function spread(n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await get();
    seen[r] = (seen[r] ?? 0) + 1;
  }
  return seen;
}

before(async () => {
  for (const n of ["a", "b", "c"]) members.push(await member(n));
  nginx = new DemoNginx(join(dir, "nginx"), await freePort(), { membersPort: await freePort() });
  nginx.configure();
  // the upstream confd renders in dynamic mode (src/confd/dynamic/split-upstreams.ts)
  writeFileSync(nginx.upstreamPath, `${dynamicUpstreamBlock(UPSTREAM_NAME, ["keepalive 16"])}\n`);
  secret = readFileSync(nginx.secretFile, "utf8");
  await nginx.start();
});

after(async () => {
  await nginx?.stop();
  for (const m of members) m.server.close();
  rmSync(dir, { recursive: true, force: true });
});

test("no members pushed: 502, and GET /members shows none", async () => {
  assert.equal(await get(), "HTTP 502");
  const state = (await (await fetch(nginx.membersUrl)).json()) as { boot: string; upstreams: [] };
  assert.match(state.boot, /^[0-9a-f]{16}$/);
  assert.deepEqual(state.upstreams, []);
});

test("members change without a reload: master and worker pids unchanged (a reload replaces the workers)", async () => {
  const master = nginx.pid!;
  const workers = nginx.workerPids();
  assert.ok(workers.length >= 1);
  const [a, b, c] = members;
  let r = await push([a.addr, b.addr]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.applied, 2);
  assert.deepEqual(Object.keys(await spread(6)).sort(), ["a", "b"]);
  r = await push([a.addr, c.addr]);
  assert.equal(r.status, 200);
  const seen = await spread(6);
  assert.deepEqual(Object.keys(seen).sort(), ["a", "c"], JSON.stringify(seen));
  // round robin: each member got a share
  assert.ok(seen.a >= 2 && seen.c >= 2, JSON.stringify(seen));
  r = await push([b.addr]);
  assert.deepEqual(await spread(3), { b: 3 });
  assert.equal(nginx.pid, master);
  assert.deepEqual(nginx.workerPids(), workers);
  const one = await fetch(`${nginx.membersUrl}/${UPSTREAM_NAME}`);
  assert.equal(await one.text(), b.addr);
  assert.ok(Number(one.headers.get("x-domeos-generation")) >= 3);
});

test("a bad member is refused and named, the others apply", async () => {
  const [a, b] = members;
  const r = await push([
    a.addr,
    "10.0.0.1",
    "abc:80",
    "300.1.2.3:80",
    "10.0.0.1:0",
    "10.0.0.1:99999",
    b.addr,
  ]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.applied, 2);
  const refused = r.body.refused as { line: number; member: string; error: string }[];
  assert.deepEqual(
    refused.map((x) => [x.line, x.member]),
    [
      [2, "10.0.0.1"],
      [3, "abc:80"],
      [4, "300.1.2.3:80"],
      [5, "10.0.0.1:0"],
      [6, "10.0.0.1:99999"],
    ],
  );
  assert.deepEqual(Object.keys(await spread(4)).sort(), ["a", "b"]);
});

test("wrong or missing secret: 403, nothing changes; a body over 1 MiB: 413", async () => {
  const [a, b, c] = members;
  await push([a.addr, b.addr]);
  assert.equal((await push([c.addr], { secret: "nope" })).status, 403);
  assert.equal((await push([c.addr], { secret: "" })).status, 403);
  const big = `${"1.2.3.4:80\n".repeat(100_000)}`; // 1.1 MB
  assert.equal((await push([], { body: big })).status, 413);
  assert.deepEqual(Object.keys(await spread(4)).sort(), ["a", "b"]);
  // GET and POST only; nothing outside /members
  assert.equal(
    (await fetch(`${nginx.membersUrl}/${UPSTREAM_NAME}`, { method: "DELETE" })).status,
    405,
  );
  assert.equal((await fetch(nginx.membersUrl.replace("/members", "/other"))).status, 404);
});

test("concurrent pushes: each applied whole, the last of one pusher wins, an older seq is refused (409)", async () => {
  const [a, b, c] = members;
  const lists = [
    [a.addr],
    [b.addr],
    [c.addr],
    [a.addr, b.addr],
    [b.addr, c.addr],
    [a.addr, c.addr],
  ];
  const before = (await (await fetch(nginx.membersUrl)).json()) as {
    upstreams: { generation: number }[];
  };
  const gen0 = before.upstreams[0].generation;
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      push(lists[i % lists.length], { pusher: `p${i}`, seq: 1 }),
    ),
  );
  assert.deepEqual(
    results.map((r) => r.status),
    results.map(() => 200),
  );
  const gens = results.map((r) => r.body.generation as number).sort((x, y) => x - y);
  assert.deepEqual(
    gens,
    Array.from({ length: 30 }, (_, i) => gen0 + i + 1),
    "one generation per push",
  );
  const last = results.find((r) => r.body.generation === gen0 + 30)!;
  const idx = results.indexOf(last);
  const live = await (await fetch(`${nginx.membersUrl}/${UPSTREAM_NAME}`)).text();
  assert.equal(
    live,
    lists[idx % lists.length].join("\n"),
    "the list of the last generation, whole",
  );
  // same pusher: an older or equal seq is stale
  assert.equal((await push([a.addr], { pusher: "z", seq: 10 })).status, 200);
  const stale = await push([b.addr], { pusher: "z", seq: 9 });
  assert.equal(stale.status, 409, JSON.stringify(stale.body));
  assert.deepEqual(await spread(2), { a: 2 });
});

test("a dead member: idempotent requests retried on the next one and it is skipped for a while; keep-alive to members", async () => {
  const [a, b] = members;
  const dead = `127.0.0.1:${await freePort()}`;
  await push([dead, a.addr, b.addr]);
  const before = a.connections + b.connections;
  // kept-alive client connection, GET and POST
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`http://127.0.0.1:${nginx.port}/`, {
      method: i % 2 ? "POST" : "GET",
      body: i % 2 ? "x" : undefined,
    });
    assert.equal(res.status, 200, `request ${i}: ${res.status}`);
    await res.text();
  }
  // 20 requests over nginx's kept-alive upstream connections: far fewer connections than requests
  const opened = a.connections + b.connections - before;
  assert.ok(opened <= 6, `${opened} connections to members for 20 requests`);
  const log = readFileSync(join(nginx.prefix, "logs/error.log"), "utf8");
  // marked down after its first failed connect: tried at most once per worker
  const refusedTimes = log
    .split("\n")
    .filter((l) => l.includes(dead) && l.includes("connect() failed")).length;
  assert.ok(refusedTimes >= 1 && refusedTimes <= 2, `dead member tried ${refusedTimes} times`);
});

test("nginx restart: the dict is empty and the boot id is new (confd re-pushes: test/confd/dynamic-e2e)", async () => {
  const [a] = members;
  await push([a.addr]);
  const boot0 = ((await (await fetch(nginx.membersUrl)).json()) as { boot: string }).boot;
  await nginx.stop();
  await nginx.start();
  const after = (await (await fetch(nginx.membersUrl)).json()) as { boot: string; upstreams: [] };
  assert.notEqual(after.boot, boot0);
  assert.deepEqual(after.upstreams, []);
  assert.equal(await get(), "HTTP 502");
});

test("examples/confd-dynamic: nginx.conf passes nginx -t with the modules and the rendered upstream; nginx.toml loads", () => {
  const ex = join(repoRoot(), "examples", "confd-dynamic");
  const d = mkdtempSync(join(tmpdir(), "dyn-example-"));
  try {
    writeFileSync(join(d, "secret"), "0123456789abcdef0123");
    writeFileSync(
      join(d, "upstream.conf"),
      `${dynamicUpstreamBlock(UPSTREAM_NAME, ["keepalive 80"])}\n`,
    );
    const conf = readFileSync(join(ex, "nginx.conf"), "utf8")
      .replaceAll("/etc/nginx/lua", luaDir())
      .replaceAll("/etc/nginx/domeos-members.secret", join(d, "secret"))
      .replaceAll("/etc/nginx/upstream.conf", join(d, "upstream.conf"))
      .replace("listen 127.0.0.1:9180;", `listen unix:${join(d, "m.sock")};`)
      .replace("listen 80;", "listen 127.0.0.1:1;");
    writeFileSync(join(d, "nginx.conf"), `${loadModuleLines()}pid ${d}/nginx.pid;\n${conf}`);
    const r = spawnSync(NGINX_BIN, [
      "-t",
      "-q",
      "-p",
      d,
      "-e",
      join(d, "error.log"),
      "-c",
      join(d, "nginx.conf"),
    ]);
    assert.equal(r.status, 0, r.stderr.toString());
    mkdirSync(join(d, "conf.d"));
    const toml = readFileSync(join(ex, "conf.d", "nginx.toml"), "utf8").replaceAll(
      "/etc/nginx/domeos-members.secret",
      join(d, "secret"),
    );
    writeFileSync(join(d, "conf.d", "nginx.toml"), toml);
    const res = loadResource(join(d, "conf.d", "nginx.toml"), { confdir: d, globalPrefix: "" });
    assert.equal(res.dynamicEndpoints?.url, "http://127.0.0.1:9180/members");
    assert.deepEqual(res.dynamicEndpoints?.upstreams, [UPSTREAM_NAME]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

/** Run `n` calls of `fn`, `width` at a time (nginx here has 256 connections). */
async function pool<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

test("pushes beyond the rate limit (100/s, burst 200) are refused with 429; reads are never limited", async () => {
  const [a] = members;
  const statuses = await pool(1000, 16, (i) =>
    push([a.addr], { pusher: `burst${i}`, seq: 1 }).then((r) => r.status),
  );
  assert.deepEqual(
    [...new Set(statuses)].sort(),
    [200, 429],
    "the burst passes, then pushes are limited",
  );
  assert.ok(statuses.filter((s) => s === 200).length >= 200);
  const reads = await pool(500, 16, () => fetch(nginx.membersUrl).then((r) => r.status));
  assert.deepEqual([...new Set(reads)], [200]);
  await new Promise((r) => setTimeout(r, 2500)); // the bucket refills
  assert.equal((await push([a.addr])).status, 200);
});
