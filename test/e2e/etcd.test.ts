// End to end on real etcd: real pods, domeos-confd (etcdv3 backend), real nginx.
import { test } from "node:test";
import { requireEtcd } from "../support/etcd.js";
import { requireNginx } from "../support/nginx.js";
import { runScenario } from "./scenario.js";

test("standalone system on etcd", { timeout: 300_000 }, async (t) => {
  requireNginx();
  requireEtcd();
  await runScenario(t, "etcd");
});
