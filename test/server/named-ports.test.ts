// Named ports (NEED_PORTS=http,admin): the contract domeize, the server's
// report policy and the deployment model share (src/auto-port/need-ports.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { namedPortKey, namedPortVar, parseNeedPorts } from "../../src/auto-port/need-ports.js";
import { reportBody } from "../../src/domeize/report.js";
import { validateAnnotationPatch } from "../../src/server/agent/annotation-policy.js";
import { needPortsEnv, parseDeployment } from "../../src/server/deploy/model.js";

const policy = { portRange: { min: 20000, max: 20999 }, extraKeys: [] };

test("NEED_PORTS: a count as in the original, or port names", () => {
  assert.deepEqual(parseNeedPorts("2"), { count: 2, names: [] });
  assert.deepEqual(parseNeedPorts(""), { count: 0, names: [] });
  assert.deepEqual(parseNeedPorts("http,admin"), { count: 2, names: ["http", "admin"] });
  assert.equal(namedPortVar("grpc-web"), "AUTO_PORT_GRPC_WEB");
  assert.equal(namedPortKey("http", ""), "AUTO_PORT_HTTP");
  assert.equal(namedPortKey("http", "sidecar"), "AUTO_PORT_HTTP.sidecar");
  assert.throws(() => parseNeedPorts("http,http"), /port name "http" is given twice/);
  assert.throws(() => parseNeedPorts("HTTP"), /"HTTP" is not a port name/);
  assert.throws(() => parseNeedPorts("http,"), /"" is not a port name/);
  assert.throws(() => parseNeedPorts("a-very-long-port-name"), /is not a port name/);
});

test("the report carries the named keys beside the indexed ones (sorted, as Go marshals)", () => {
  assert.equal(
    reportBody([20001, 20002], "", ["http", "admin"]),
    '{"AUTO_PORT0":"20001","AUTO_PORT1":"20002","AUTO_PORT_ADMIN":"20002","AUTO_PORT_HTTP":"20001"}',
  );
  assert.equal(
    reportBody([20001], "side", ["http"]),
    '{"AUTO_PORT0_side":"20001","AUTO_PORT_HTTP.side":"20001"}',
  );
});

test("the server takes a named port only as another name of a port of the same report", () => {
  const ok = validateAnnotationPatch(
    { AUTO_PORT0: "20001", AUTO_PORT1: "20002", AUTO_PORT_HTTP: "20001", AUTO_PORT_ADMIN: "20002" },
    policy,
  );
  assert.equal(ok.AUTO_PORT_HTTP, "20001");
  assert.throws(
    () => validateAnnotationPatch({ AUTO_PORT0: "20001", AUTO_PORT_HTTP: "20005" }, policy),
    /AUTO_PORT_HTTP="20005" names no AUTO_PORT<n> of the same report/,
  );
  assert.throws(
    () => validateAnnotationPatch({ AUTO_PORT_HTTP: "20001" }, policy),
    /names no AUTO_PORT<n>/,
  );
  assert.throws(
    () => validateAnnotationPatch({ AUTO_PORT0_side: "20001", AUTO_PORT_HTTP: "20001" }, policy),
    /names no AUTO_PORT<n> of the same report/,
  );
  validateAnnotationPatch({ AUTO_PORT0_side: "20001", "AUTO_PORT_HTTP.side": "20001" }, policy);
  assert.throws(
    () => validateAnnotationPatch({ AUTO_PORT0: "99", AUTO_PORT_HTTP: "99" }, policy),
    /not a port in the allowed range/,
  );
});

test("deployments: portNames set the port count and NEED_PORTS; bad names are a clear 400", () => {
  const d = parseDeployment({ name: "web", command: ["app"], portNames: ["http", "admin"] });
  assert.equal(d.ports, 2);
  assert.equal(needPortsEnv(d), "http,admin");
  assert.equal(needPortsEnv(parseDeployment({ name: "web", command: ["app"], ports: 2 })), "2");
  assert.throws(
    () => parseDeployment({ name: "web", command: ["app"], ports: 3, portNames: ["http"] }),
    /portNames names 1 ports but ports is 3/,
  );
  assert.throws(
    () => parseDeployment({ name: "web", command: ["app"], portNames: ["Http"] }),
    /portNames: "Http" is not a port name/,
  );
});
