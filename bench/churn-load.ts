// The churn benchmark's load (test/e2e/load.ts, the e2e tests' generator) in
// a worker thread, so the runtime and server in the main thread do not share
// its event loop: bench/churn.ts names each phase and asks for the counts by
// message ({phase} / {stop: true}, answered with the PhaseStats).
import { parentPort, workerData } from "node:worker_threads";
import { type LoadSettings, startLoad } from "../test/e2e/load.js";

const port = parentPort;
if (!port) throw new Error("churn-load runs as a worker thread");
const load = startLoad(workerData as LoadSettings);
port.on("message", (m: { phase?: string; stop?: boolean }) => {
  if (m.phase) load.phase(m.phase);
  if (m.stop) void load.stop().then((stats) => port.postMessage(stats));
});
