// End to end: pods in a real etcd, the real bin/domeos-confd process rendering
// the example upstream (the seed template with a placeholder server instead of
// the three `check` lines stock nginx lacks), nginx -t on the staged file, a
// real nginx reloading and routing to real HTTP backends on 127.0.0.1.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { EtcdServer } from "../support/etcd.js";
import { NginxServer } from "../support/nginx.js";
import {
  Backend,
  Confd,
  confdArgs,
  makeConfdir,
  PODS,
  podFor,
  readText,
  routedTo,
  sameSet,
  until,
} from "./nginx-harness.js";

describe("domeos-confd + etcd + nginx", () => {
  const etcd = new EtcdServer();
  const nginx = new NginxServer();
  const backends = [new Backend("b0"), new Backend("b1"), new Backend("b2"), new Backend("other")];
  let store: EtcdStore;
  let confd: Confd;
  let confdir = "";
  let dest = "";

  before(async () => {
    await etcd.start();
    store = new EtcdStore({ endpoints: [etcd.endpoint] });
    for (const b of backends) await b.start();
    await nginx.configure("img_cs_group");
    ({ confdir, dest } = makeConfdir(nginx));
    for (const i of [0, 1, 2]) {
      await store.put(`${PODS}/web-${i}`, podFor(`web-${i}`, "127.0.0.1", backends[i].port));
    }
    // Another deployment's pod: the template's filter must keep it out.
    await store.put(`${PODS}/other-0`, podFor("other-0", "127.0.0.1", backends[3].port, "svc-x"));
    // A sibling prefix: never part of the upstream.
    await store.put(`${PODS}2/web-9`, podFor("web-9", "127.0.0.1", backends[3].port));
    confd = new Confd([...confdArgs(confdir, "etcdv3", etcd.endpoint), "-watch"]);
    confd.start();
    await until(() => readText(dest).includes("server"), 20_000, "the first render");
    await nginx.start();
  });

  after(async () => {
    await confd?.stop();
    await nginx.destroy();
    for (const b of backends) await b.stop();
    await store?.close();
    await etcd.destroy();
    if (confdir) rmSync(confdir, { recursive: true, force: true });
  });

  const expectRoutes = (names: string[], what: string) =>
    until(async () => sameSet(await routedTo(nginx.port), names), 15_000, what);

  test("nginx routes to every matching pod, and only to them", async () => {
    const file = readText(dest);
    for (const i of [0, 1, 2]) assert.ok(file.includes(`server 127.0.0.1:${backends[i].port} `));
    assert.ok(
      !file.includes(String(backends[3].port)),
      "other deployments and sibling prefixes stay out",
    );
    await expectRoutes(["b0", "b1", "b2"], "nginx to route to b0, b1, b2");
  });

  test("a deleted pod leaves the upstream", async () => {
    await store.delete(`${PODS}/web-1`);
    await until(() => !readText(dest).includes(`:${backends[1].port} `), 10_000, "web-1 to leave");
    await expectRoutes(["b0", "b2"], "nginx to stop routing to b1");
  });

  test("zero pods: the placeholder keeps nginx loadable", async () => {
    await store.delete(`${PODS}/web-0`);
    await store.delete(`${PODS}/web-2`);
    await until(
      () => !/server 127\.0\.0\.1:\d+ max_fails/.test(readText(dest)),
      10_000,
      "an empty upstream",
    );
    assert.match(readText(dest), /server 127\.0\.0\.1:1 down;/);
    // nginx reloaded (no backend left: 502), it did not keep the old servers.
    await expectRoutes(["502"], "nginx to answer 502 with no pods");
    await store.put(`${PODS}/web-0`, podFor("web-0", "127.0.0.1", backends[0].port));
    await expectRoutes(["b0"], "nginx to route to the returning pod");
  });

  test("check_cmd failing: traced to the pod, which is left out; nginx keeps serving; the fixed pod applies", async () => {
    const before = readText(dest);
    // nginx -t rejects the port (no DNS involved: deterministic offline).
    await store.put(`${PODS}/web-bad`, podFor("web-bad", "127.0.0.1", 99999));
    await until(
      () =>
        /Config check failed: exit status 1; tracing it .*invalid port in upstream/.test(
          confd.stderr,
        ) &&
        /leaving \/registry\/pods\/default\/web-bad out of the rendered view: check failed: .*invalid port/.test(
          confd.stderr,
        ),
      10_000,
      "nginx -t's refusal traced to web-bad",
    );
    assert.equal(readText(dest), before, "the destination never gets the bad line");
    assert.ok(sameSet(await routedTo(nginx.port), ["b0"]), "nginx still serves");
    await store.put(`${PODS}/web-bad`, podFor("web-bad", "127.0.0.1", backends[2].port));
    await until(() => readText(dest).includes(`:${backends[2].port} `), 10_000, "the fixed render");
    await expectRoutes(["b0", "b2"], "nginx to route to the fixed pod");
    await store.delete(`${PODS}/web-bad`);
  });
});
