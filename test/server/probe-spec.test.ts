// Readiness/liveness probe specs of a deployment: Kubernetes' fields and
// defaults, and bad paths/ports/durations refused with a clear 400 that
// names the field, with nothing stored.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DeploymentError, parseDeployment } from "../../src/server/deploy/model.js";
import { PROBE_DEFAULTS } from "../../src/server/deploy/probe-spec.js";
import type { RunningServer } from "../../src/server/server.js";
import {
  ADMIN,
  bearer,
  makeStore,
  request,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

const base = { name: "web", command: ["app"], ports: 2 };

function problems(input: Record<string, unknown>): string[] {
  try {
    parseDeployment({ ...base, ...input });
  } catch (err) {
    assert.ok(err instanceof DeploymentError);
    return err.problems;
  }
  return [];
}

test("probes: Kubernetes' fields, defaults filled in, port by index or AUTO_PORT name", () => {
  const d = parseDeployment({
    ...base,
    readinessProbe: {
      httpGet: { path: "/healthz?full=1", port: "AUTO_PORT1" },
      periodSeconds: 0.5,
    },
    livenessProbe: { tcpSocket: { port: 0 }, failureThreshold: 5, initialDelaySeconds: 2 },
  });
  assert.deepEqual(d.readinessProbe, {
    ...PROBE_DEFAULTS,
    httpGet: { path: "/healthz?full=1", port: "AUTO_PORT1" },
    periodSeconds: 0.5,
  });
  assert.deepEqual(d.livenessProbe, {
    ...PROBE_DEFAULTS,
    tcpSocket: { port: 0 },
    failureThreshold: 5,
    initialDelaySeconds: 2,
  });
  assert.equal(parseDeployment(base).readinessProbe, undefined, "no probe: the runtime's default");
});

test("probes: bad paths, ports, durations and shapes each name the field", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { readinessProbe: { httpGet: { path: "healthz", port: 0 } } },
      /readinessProbe\.httpGet\.path "healthz" must be an absolute path/,
    ],
    [
      { readinessProbe: { httpGet: { path: "/a b", port: 0 } } },
      /readinessProbe\.httpGet\.path "\/a b"/,
    ],
    [
      { readinessProbe: { httpGet: { path: `/${"x".repeat(1100)}`, port: 0 } } },
      /at most 1024 characters/,
    ],
    [
      { readinessProbe: { httpGet: { path: "/", port: 2 } } },
      /readinessProbe\.httpGet\.port 2 must be a port index .* AUTO_PORT0\.\.AUTO_PORT1/,
    ],
    [
      { livenessProbe: { tcpSocket: { port: "AUTO_PORT7" } } },
      /livenessProbe\.tcpSocket\.port "AUTO_PORT7"/,
    ],
    [{ livenessProbe: { tcpSocket: { port: "http" } } }, /livenessProbe\.tcpSocket\.port "http"/],
    [{ livenessProbe: { tcpSocket: { port: -1 } } }, /livenessProbe\.tcpSocket\.port -1/],
    [
      { readinessProbe: { tcpSocket: { port: 0 }, periodSeconds: 0 } },
      /readinessProbe\.periodSeconds 0 must be a number of seconds from 0\.1 to 3600/,
    ],
    [
      { readinessProbe: { tcpSocket: { port: 0 }, timeoutSeconds: "1s" } },
      /readinessProbe\.timeoutSeconds "1s"/,
    ],
    [
      { readinessProbe: { tcpSocket: { port: 0 }, initialDelaySeconds: -1 } },
      /readinessProbe\.initialDelaySeconds -1/,
    ],
    [
      { readinessProbe: { tcpSocket: { port: 0 }, periodSeconds: 1e9 } },
      /periodSeconds 1000000000/,
    ],
    [
      { readinessProbe: { tcpSocket: { port: 0 }, failureThreshold: 0 } },
      /readinessProbe\.failureThreshold 0 must be an integer from 1 to 100/,
    ],
    [
      { readinessProbe: { tcpSocket: { port: 0 }, successThreshold: 1.5 } },
      /successThreshold 1\.5/,
    ],
    [
      { livenessProbe: { tcpSocket: { port: 0 }, successThreshold: 2 } },
      /livenessProbe\.successThreshold must be 1/,
    ],
    [{ readinessProbe: {} }, /readinessProbe needs exactly one of httpGet or tcpSocket/],
    [{ readinessProbe: { httpGet: { path: "/" }, tcpSocket: { port: 0 } } }, /exactly one of/],
    [{ readinessProbe: { exec: { command: ["true"] } } }, /readinessProbe\.exec is not supported/],
    [
      { readinessProbe: { tcpSocket: { port: 0 }, period: 1 } },
      /readinessProbe: unknown field "period"/,
    ],
    [
      { readinessProbe: { httpGet: { path: "/", port: 0, host: "x" } } },
      /readinessProbe\.httpGet: unknown field "host"/,
    ],
    [{ readinessProbe: "tcp" }, /readinessProbe must be an object/],
    [
      { ports: 0, networkMode: "DEFAULT", readinessProbe: { tcpSocket: { port: 0 } } },
      /exposes no ports/,
    ],
  ];
  for (const [input, want] of cases) {
    const p = problems(input);
    assert.ok(
      p.some((m) => want.test(m)),
      `${JSON.stringify(input)}: ${JSON.stringify(p)}`,
    );
  }
});

let fx: StoreFixture;
let srv: RunningServer;
before(async () => {
  fx = await makeStore("embedded");
  srv = await startTestServer(fx.store);
});
after(async () => {
  await srv.close();
  await fx.destroy();
});

test("probes over the admin API: 400 naming every bad field, nothing stored or changed", async () => {
  const api = (method: string, path: string, body?: unknown) =>
    request(method, `${srv.url}${path}`, body, bearer(ADMIN));
  const bad = await api("POST", "/api/deployments", {
    ...base,
    image: "x",
    readinessProbe: { httpGet: { path: "nope", port: 9 }, timeoutSeconds: 0 },
    livenessProbe: { tcpSocket: { port: 0 }, periodSeconds: -5 },
  });
  assert.equal(bad.status, 400);
  const msg = String(bad.body.resultMsg);
  assert.match(msg, /readinessProbe\.timeoutSeconds 0/);
  assert.match(msg, /readinessProbe\.httpGet\.path "nope"/);
  assert.match(msg, /livenessProbe\.periodSeconds -5/);
  assert.equal((await fx.store.list("/domeos/deployments/")).kvs.length, 0);

  const good = await api("POST", "/api/deployments", {
    ...base,
    image: "x",
    readinessProbe: { httpGet: { path: "/ready", port: 0 }, periodSeconds: 2 },
  });
  assert.equal(good.status, 201, good.text);
  const stored = await api("GET", "/api/deployments/default/web");
  assert.deepEqual((stored.body.result as { readinessProbe: unknown }).readinessProbe, {
    ...PROBE_DEFAULTS,
    httpGet: { path: "/ready", port: 0 },
    periodSeconds: 2,
  });
  const before = (await fx.store.list("/domeos/deployments/")).kvs.map((kv) => kv.modRevision);
  const patch = await api("PATCH", "/api/deployments/default/web", {
    readinessProbe: { httpGet: { path: "bad" } },
  });
  assert.equal(patch.status, 400);
  const afterRevs = (await fx.store.list("/domeos/deployments/")).kvs.map((kv) => kv.modRevision);
  assert.deepEqual(afterRevs, before, "nothing changed");
});
