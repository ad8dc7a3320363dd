// A Node process that only reads what `domeos-confd -onetime` reads (every
// key under a prefix, through the same range reader) and exits: the floor
// of any Node `-onetime` on this machine, for scale in bench/confd-10k.ts.
//   node dist/bench/confd-read-floor.js http://127.0.0.1:2379 /registry/pods/default/

import { EtcdRangeReader } from "../src/confd/backends/etcd-range-reader.js";

const [endpoint, prefix] = process.argv.slice(2);
if (!endpoint || !prefix) {
  process.stderr.write("usage: confd-read-floor ENDPOINT PREFIX\n");
  process.exit(2);
}
const reader = new EtcdRangeReader({ endpoints: [endpoint] }, 30_000, true);
const { kvs } = await reader.list(prefix);
await reader.close();
process.stdout.write(`${kvs.length}\n`);
