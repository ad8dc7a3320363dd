// Port allocation pieces: /proc/net parsing, claims (live, dead, sticky,
// foreign pid namespace), the bind probe, and range errors.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { after, before, test } from "node:test";
import { DomeizeError, EXIT } from "../../src/domeize/exit.js";
import { claimPath } from "../../src/domeize/ports/claims.js";
import { identityOf } from "../../src/domeize/ports/identity.js";
import { portIsFree, probeMethod } from "../../src/domeize/ports/probe.js";
import {
  PortsInUse,
  parseProcNet,
  portsInUse,
  portsInUseAsync,
} from "../../src/domeize/ports/procnet.js";
import { type ReserveRequest, reserve } from "../../src/domeize/ports/reservation.js";
import { removeDir, tempDir } from "./helpers.js";

let dir: string;
before(() => {
  dir = tempDir();
});
after(() => removeDir(dir));

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4E21 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C40 0100007F:4E21 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
garbage line
   2: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 3
`;

test("/proc/net: local ports of every line and state, malformed lines skipped", () => {
  const used = parseProcNet(TCP);
  for (const p of [8080, 20001, 40000]) assert.ok(used.has(p), String(p));
  assert.equal(used.size, 3);
  assert.equal(parseProcNet("header only\n").size, 0);
  assert.ok(portsInUse().size >= 0);
});

test("/proc/net: the worker-thread read (the executable's) finds what the synchronous one does", async () => {
  const root = `${dir}/procnet`;
  mkdirSync(root, { recursive: true });
  writeFileSync(`${root}/tcp`, TCP);
  const head = TCP.split("\n")[0];
  writeFileSync(
    `${root}/udp6`,
    `${head}\n   0: 00000000000000000000000000000000:3039 00000000000000000000000000000000:0000 07 0 0\n`,
  );
  // the other tables are absent: skipped by both
  const sync = portsInUse(root);
  const early = await portsInUseAsync(root);
  assert.deepEqual([...early.busy].sort(), [...sync.busy].sort());
  assert.equal(early.size, 4);
  assert.ok(early.has(12345), "udp6");
  assert.ok((await portsInUseAsync()).size >= 0, "this host's tables");
});

test("/proc/net: a port held only by TIME_WAIT connections is soft-busy", () => {
  const head = TCP.split("\n")[0];
  const tw = `${head}\n   0: 0100007F:6590 0100007F:C350 06 00000000:00000000 03:00000000 00000000 0 0 0\n`;
  const used = parseProcNet(tw);
  assert.ok(used.has(26000), "never a fresh pick");
  assert.equal(used.hard(26000), false, "but a restarted owner may take it back");
  assert.ok(parseProcNet(TCP).hard(20001), "LISTEN is hard");
});

/** The plain reading of a table, to check the one-pass parser against. */
function referenceParse(text: string, tcp: boolean): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/[ \t\r]+/);
    const local = fields[1];
    if (local === undefined) continue;
    const hex = local.slice(local.lastIndexOf(":") + 1);
    if (!local.includes(":") || !/^[0-9A-Fa-f]{1,4}$/.test(hex)) continue;
    const port = Number.parseInt(hex, 16);
    if (!out.has(port)) out.set(port, new Set());
    out.get(port)?.add(tcp ? (fields[3] ?? "") : "");
  }
  return out;
}

function sameAsReference(text: string, tcp: boolean, what: string): void {
  const got = parseProcNet(text, new PortsInUse(), tcp);
  const want = referenceParse(text, tcp);
  assert.equal(got.size, want.size, what);
  for (const [port, states] of want) {
    assert.ok(got.has(port), `${what}: ${port}`);
    const onlyTimeWait = [...states].every((st) => st === "06");
    assert.equal(got.hard(port), !onlyTimeWait, `${what}: ${port} hard`);
  }
}

test("/proc/net: the one-pass parser reads what a plain split reads (this host, mangled lines)", () => {
  for (const name of ["tcp", "tcp6", "udp", "udp6", "raw"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${name}`, "latin1");
    } catch {
      continue;
    }
    sameAsReference(text, name.startsWith("tcp"), name);
  }
  // Every prefix of every line, odd spacing, tabs, lowercase hex, long ports.
  const lines = [
    ...TCP.split("\n").slice(1),
    "\t 7:\t0100007f:abcd\t00000000:0000  06  x",
    "  8: 0100007F:12345 00000000:0000 0A",
    "  9: :1F90",
    " 10: 0100007F: 00000000:0000 0A",
    " 11: nocolon 0A",
    " 12: 0100007F:1F91 00000000:0000",
    " 13: 0100007F:1F92\r",
  ];
  for (const line of lines) {
    for (let cut = 0; cut <= line.length; cut++) {
      const text = `header\n${line.slice(0, cut)}\n${line}`;
      sameAsReference(text, true, JSON.stringify(text));
      sameAsReference(text, false, JSON.stringify(text));
    }
  }
});

function inUse(...ports: number[]): PortsInUse {
  const u = new PortsInUse();
  for (const p of ports) u.add(p, "0A");
  return u;
}

async function listen(port = 0): Promise<Server> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(port, "127.0.0.1", r));
  return srv;
}

function portOf(srv: Server): number {
  const a = srv.address();
  return typeof a === "object" && a !== null ? a.port : 0;
}

test("bind probe: a port held on 127.0.0.1 is not free; a closed one is", async () => {
  const srv = await listen();
  const p = portOf(srv);
  assert.equal(await portIsFree(p), false);
  await new Promise((r) => srv.close(r));
  assert.equal(await portIsFree(p), true);
});

test("bind probe: libuv handles (Node's default here) and net/dgram agree, TCP and UDP", async () => {
  assert.equal(probeMethod(), "handles", "the fast path is available on Node 20");
  const srv = await listen();
  const tcpPort = portOf(srv);
  const udp = createSocket("udp4");
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
  const udpPort = udp.address().port;
  try {
    for (const method of ["handles", "streams"] as const) {
      assert.equal(await portIsFree(tcpPort, method), false, `${method}: TCP listener`);
      assert.equal(await portIsFree(udpPort, method), false, `${method}: UDP socket`);
    }
  } finally {
    await new Promise((r) => srv.close(r));
    await new Promise<void>((r) => udp.close(() => r()));
  }
  for (const method of ["handles", "streams"] as const) {
    assert.equal(await portIsFree(tcpPort, method), true, `${method}: TCP port free again`);
    assert.equal(await portIsFree(udpPort, method), true, `${method}: UDP port free again`);
  }
  // A probe releases the port at once: binding it right after succeeds.
  assert.equal(await portIsFree(tcpPort, "handles"), true);
  const again = await listen(tcpPort);
  await new Promise((r) => again.close(r));
});

function request(over: Partial<ReserveRequest>): ReserveRequest {
  return {
    stateDir: `${dir}/state`,
    key: "c~ns~pod~_",
    count: 2,
    start: 26100,
    end: 26109,
    owner: identityOf(process.pid),
    inUse: inUse(),
    leaseTtlMs: 600_000,
    ...over,
  };
}

async function code(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DomeizeError, String(e));
    return e.code;
  }
  return undefined;
}

test("claims: live claims are never reissued; the range runs out with exit 5", async () => {
  const stateDir = `${dir}/live`;
  const got = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const r = await reserve(request({ stateDir, key: `k${i}` }));
    for (const p of r.ports) got.add(p);
  }
  assert.equal(got.size, 10, "10 distinct ports for 5 live containers");
  assert.equal(await code(reserve(request({ stateDir, key: "k5" }))), EXIT.ports);
  assert.equal(await code(reserve(request({ stateDir, key: "big", count: 11 }))), EXIT.ports);
});

test("range exhausted: the message counts only the range's ports in use", async () => {
  const busyOutside = [26000, 26001, 30000, 40000];
  try {
    await reserve(
      request({
        stateDir: `${dir}/exhaust`,
        start: 26110,
        end: 26112,
        count: 3,
        inUse: inUse(26111, ...busyOutside),
      }),
    );
    assert.fail("the range has 2 free ports for 3");
  } catch (e) {
    assert.ok(e instanceof DomeizeError && e.code === EXIT.ports, String(e));
    assert.match(
      e.message,
      /port range 26110-26112 exhausted: 2 of 3 ports free \(1 of the range in use on the host, 0 reserved/,
    );
  }
});

test("ports in use on the host (/proc/net or bind probe) are skipped", async () => {
  const srv = await listen(26200);
  try {
    const r = await reserve(
      request({ stateDir: `${dir}/probe`, start: 26200, end: 26202, count: 2 }),
    );
    assert.deepEqual([...r.ports].sort(), [26201, 26202]);
    const r2 = await reserve(
      request({
        stateDir: `${dir}/scan`,
        start: 26203,
        end: 26205,
        count: 2,
        inUse: inUse(26204),
      }),
    );
    assert.deepEqual([...r2.ports].sort(), [26203, 26205]);
  } finally {
    srv.close();
  }
});

/** An owner that has exited: a real process that ran and is gone. */
function deadOwner() {
  const r = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return identityOf(Number(r.stdout.trim()));
}

test("sticky: a restarted container gets its previous ports back; dead claims are reused", async () => {
  const stateDir = `${dir}/sticky`;
  const first = await reserve(request({ stateDir, owner: deadOwner(), start: 26300, end: 26399 }));
  const again = await reserve(request({ stateDir, owner: deadOwner(), start: 26300, end: 26399 }));
  assert.deepEqual(again.ports, first.ports);
  assert.equal(again.sticky, 2);
  // After a SIGKILL the old app's connections linger in TIME_WAIT: still ours.
  const lingering = new PortsInUse();
  for (const p of first.ports) lingering.add(p, "06");
  const third = await reserve(
    request({ stateDir, owner: deadOwner(), start: 26300, end: 26399, inUse: lingering }),
  );
  assert.deepEqual(third.ports, first.ports);
  // Another container may take a dead owner's ports when nothing else is left.
  const stateDir2 = `${dir}/reuse`;
  await reserve(
    request({ stateDir: stateDir2, key: "old", owner: deadOwner(), start: 26400, end: 26401 }),
  );
  const r = await reserve(request({ stateDir: stateDir2, key: "new", start: 26400, end: 26401 }));
  assert.deepEqual([...r.ports].sort(), [26400, 26401]);
});

test("owners in another pid namespace: live for the TTL, then reusable", async () => {
  const stateDir = `${dir}/foreign`;
  await reserve(request({ stateDir, key: "other", start: 26500, end: 26501 }));
  const foreign = (created: number) =>
    JSON.stringify({
      key: "other",
      owner: { pid: 1, start: "1", pidns: "pid:[1]", boot: "" },
      created,
    });
  writeFileSync(claimPath(stateDir, 26500), foreign(Date.now()));
  writeFileSync(claimPath(stateDir, 26501), foreign(Date.now()));
  assert.equal(
    await code(reserve(request({ stateDir, key: "me", start: 26500, end: 26501 }))),
    EXIT.ports,
  );
  writeFileSync(claimPath(stateDir, 26500), foreign(Date.now() - 3_600_000));
  writeFileSync(claimPath(stateDir, 26501), foreign(Date.now() - 3_600_000));
  const r = await reserve(request({ stateDir, key: "me", start: 26500, end: 26501 }));
  assert.equal(r.ports.length, 2);
});

test("release gives the ports back at once", async () => {
  const stateDir = `${dir}/release`;
  const r = await reserve(request({ stateDir, key: "a", start: 26600, end: 26601 }));
  r.release();
  const r2 = await reserve(request({ stateDir, key: "b", start: 26600, end: 26601 }));
  assert.equal(r2.ports.length, 2);
});
