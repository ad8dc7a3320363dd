// Child process for the embedded-store tests: writes keys (and annotation
// merges into one pod) to the store in argv[2] and prints "ack <i>" after
// each write resolves, so the parent knows exactly what was acknowledged.
// argv[3]: how many writes, in order, one at a time (default: until killed,
// eight at a time).

import { EmbeddedStore } from "../../src/store/embedded.js";
import { mergeAnnotations } from "../../src/store/merge.js";

const dir = process.argv[2];
const count = Number(process.argv[3] ?? Number.POSITIVE_INFINITY);
const store = new EmbeddedStore(dir);
const pod = "/registry/pods/default/writer";
if (!(await store.get(pod))) {
  await store.put(pod, JSON.stringify({ metadata: { name: "writer", annotations: {} } }));
}
// Several writers at once, so merges into the pod are grouped (group commit):
// an "ack" must still mean the write carrying that merge has committed.
const WORKERS = count === Number.POSITIVE_INFINITY ? 8 : 1;
let next = 0;
const worker = async () => {
  for (let i = next++; i < count; i = next++) {
    if (i % 2 === 0) await store.put(`/load/${String(i).padStart(6, "0")}`, `value-${i}`);
    else await mergeAnnotations(store, pod, { [`a${i}`]: String(i) });
    process.stdout.write(`ack ${i}\n`);
  }
};
await Promise.all(Array.from({ length: WORKERS }, worker));
await store.close();
