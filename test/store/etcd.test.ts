// The store contract on a real etcd (test/support/etcd.ts starts it; a
// missing etcd binary fails the run loudly).

import { after, before } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { EtcdServer } from "../support/etcd.js";
import { storeContract } from "./contract.js";

const etcd = new EtcdServer();
before(async () => {
  await etcd.start();
});
after(async () => {
  await etcd.destroy();
});

storeContract("etcd v3", async () => new EtcdStore({ endpoints: [etcd.endpoint] }));
