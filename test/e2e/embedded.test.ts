// End to end on the embedded store: real pods, domeos-confd, real nginx.
import { test } from "node:test";
import { requireNginx } from "../support/nginx.js";
import { runScenario } from "./scenario.js";

test("standalone system on the embedded store", { timeout: 300_000 }, async (t) => {
  requireNginx();
  await runScenario(t, "embedded");
});
