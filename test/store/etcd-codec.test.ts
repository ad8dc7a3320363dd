// The hand-written etcd codec (src/store/etcd/codec.ts, txn-proto.ts)
// against etcd's own .proto files (shipped in node_modules/etcd3/proto),
// read by protobufjs: what we encode, protobufjs decodes to the intended
// fields; what protobufjs encodes, we decode. A wrong field number or wire
// type fails here, not against a live etcd.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import protobuf from "protobufjs";
import {
  decodeAuthenticateResponse,
  decodeCasTxnResponse,
  decodeKeyValue,
  decodeLeaseResponse,
  decodeRangeResponse,
  decodeWatchResponse,
  encodeAuthenticateRequest,
  encodeCasDeleteTxn,
  encodeCompactionRequest,
  encodeDeleteRangeRequest,
  encodeLeaseGrantRequest,
  encodeLeaseIdRequest,
  encodePutRequest,
  encodeRangeRequest,
  encodeWatchCreate,
  responseRevision,
  WATCH_PROGRESS_REQUEST,
} from "../../src/store/etcd/codec.js";
import { EtcdProtocolError } from "../../src/store/etcd/errors.js";
import { decodeBatchTxn, encodeBatchTxn } from "../../src/store/etcd/txn-proto.js";

const protoDir = join(
  dirname(createRequire(import.meta.url).resolve("etcd3/package.json")),
  "proto",
);
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(protoDir, target.replace(/^\.\//, ""));
root.loadSync("rpc.proto", { keepCase: true });
const T = (name: string) => root.lookupType(name);

/** protobufjs's reading of our bytes, as plain JSON (longs as strings, bytes as strings). */
function theirs(type: string, buf: Buffer): Record<string, unknown> {
  const msg = T(type).decode(buf);
  return T(type).toObject(msg, { longs: String, enums: String, bytes: String, defaults: false });
}

/** protobufjs's bytes for `obj`. */
function encode(type: string, obj: Record<string, unknown>): Buffer {
  const t = T(type);
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

const kv = {
  key: Buffer.from("/registry/pods/ns/p"),
  create_revision: 3,
  mod_revision: 9_007_199_254, // above 2^32
  version: 4,
  value: Buffer.from('{"é":"😀"}'),
  lease: "7587869832931474438", // above 2^53
};
const header = {
  cluster_id: "14841639068965178418",
  member_id: "10276657743932975437",
  revision: 12_345,
  raft_term: 7,
};

test("RangeRequest: our encoding as etcd's rpc.proto reads it", () => {
  const got = theirs(
    "etcdserverpb.RangeRequest",
    encodeRangeRequest({
      key: Buffer.from("/a"),
      rangeEnd: Buffer.from("/b"),
      limit: 1000,
      revision: 77,
      countOnly: true,
    }),
  );
  assert.deepEqual(got, {
    key: b64("/a"),
    range_end: b64("/b"),
    limit: "1000",
    revision: "77",
    count_only: true,
  });
});

test("RangeResponse and mvccpb.KeyValue: protobufjs's encoding as we read it", () => {
  const buf = encode("etcdserverpb.RangeResponse", {
    header,
    kvs: [kv, { key: Buffer.from("/k2"), value: Buffer.from("v"), mod_revision: 5 }],
    more: true,
    count: 2,
  });
  const res = decodeRangeResponse(buf);
  assert.equal(res.revision, 12_345);
  assert.equal(res.more, true);
  assert.deepEqual(res.kvs[0], {
    key: "/registry/pods/ns/p",
    value: '{"é":"😀"}',
    createRevision: 3,
    modRevision: 9_007_199_254,
    version: 4,
    lease: "7587869832931474438",
  });
  assert.deepEqual(res.kvs[1], {
    key: "/k2",
    value: "v",
    createRevision: 0,
    modRevision: 5,
    version: 0,
  });
  assert.equal(responseRevision(buf), 12_345);
  const one = encode("mvccpb.KeyValue", kv);
  assert.equal(decodeKeyValue(one, [0, one.length]).lease, kv.lease);
});

test("PutRequest, DeleteRangeRequest, CompactionRequest", () => {
  assert.deepEqual(
    theirs(
      "etcdserverpb.PutRequest",
      encodePutRequest(Buffer.from("/k"), Buffer.from("v"), "7587869832931474438"),
    ),
    { key: b64("/k"), value: b64("v"), lease: "7587869832931474438" },
  );
  assert.deepEqual(
    theirs("etcdserverpb.PutRequest", encodePutRequest(Buffer.from("/k"), Buffer.alloc(0))),
    { key: b64("/k"), value: "" },
  );
  assert.deepEqual(
    theirs("etcdserverpb.DeleteRangeRequest", encodeDeleteRangeRequest(Buffer.from("/k"))),
    { key: b64("/k") },
  );
  assert.deepEqual(theirs("etcdserverpb.CompactionRequest", encodeCompactionRequest(99)), {
    revision: "99",
    physical: true,
  });
  assert.equal(responseRevision(encode("etcdserverpb.PutResponse", { header })), 12_345);
});

test("conditional delete: TxnRequest with compare, success and failure ops", () => {
  assert.deepEqual(theirs("etcdserverpb.TxnRequest", encodeCasDeleteTxn(Buffer.from("/k"), 42)), {
    compare: [{ target: "Mod", key: b64("/k"), mod_revision: "42" }],
    success: [{ request_delete_range: { key: b64("/k") } }],
    failure: [{ request_range: { key: b64("/k") } }],
  });
  // expect 0: "only if absent" compares the create revision, written although 0 (a oneof member)
  assert.deepEqual(theirs("etcdserverpb.TxnRequest", encodeCasDeleteTxn(Buffer.from("/k"), 0)), {
    compare: [{ target: "Create", key: b64("/k"), create_revision: "0" }],
    success: [{ request_delete_range: { key: b64("/k") } }],
    failure: [{ request_range: { key: b64("/k") } }],
  });
  const failed = decodeCasTxnResponse(
    encode("etcdserverpb.TxnResponse", {
      header,
      succeeded: false,
      responses: [{ response_range: { header, kvs: [kv], count: 1 } }],
    }),
  );
  assert.equal(failed.succeeded, false);
  assert.equal(failed.revision, 12_345);
  assert.equal(failed.current?.modRevision, kv.mod_revision);
  const ok = decodeCasTxnResponse(
    encode("etcdserverpb.TxnResponse", {
      header,
      succeeded: true,
      responses: [{ response_delete_range: { header, deleted: 1 } }],
    }),
  );
  assert.deepEqual(ok, { revision: 12_345, succeeded: true });
});

test("batched compare-and-swap: nested transactions both ways", () => {
  const ops = [
    { key: Buffer.from("/a"), value: Buffer.from("1"), expect: 0 },
    {
      key: Buffer.from("/b"),
      value: Buffer.from("x".repeat(300)),
      expect: 17,
      lease: "7587869832931474438",
    },
  ];
  const got = theirs("etcdserverpb.TxnRequest", encodeBatchTxn(ops));
  assert.deepEqual(got, {
    success: [
      {
        request_txn: {
          compare: [{ target: "Create", key: b64("/a"), create_revision: "0" }],
          success: [{ request_put: { key: b64("/a"), value: b64("1") } }],
          failure: [{ request_range: { key: b64("/a") } }],
        },
      },
      {
        request_txn: {
          compare: [{ target: "Mod", key: b64("/b"), mod_revision: "17" }],
          success: [
            {
              request_put: {
                key: b64("/b"),
                value: b64("x".repeat(300)),
                lease: "7587869832931474438",
              },
            },
          ],
          failure: [{ request_range: { key: b64("/b") } }],
        },
      },
    ],
  });
  const res = decodeBatchTxn(
    encode("etcdserverpb.TxnResponse", {
      header,
      succeeded: true,
      responses: [
        {
          response_txn: {
            header,
            succeeded: true,
            responses: [{ response_put: { header } }],
          },
        },
        {
          response_txn: {
            header,
            succeeded: false,
            responses: [{ response_range: { header, kvs: [kv], count: 1 } }],
          },
        },
      ],
    }),
    2,
  );
  assert.equal(res.revision, 12_345);
  assert.deepEqual(res.outcomes[0], { ok: true });
  assert.equal(res.outcomes[1]?.ok, false);
  assert.equal(res.outcomes[1]?.current?.key, "/registry/pods/ns/p");
});

test("leases: grant, keepalive and revoke requests; grant and keepalive answers", () => {
  assert.deepEqual(theirs("etcdserverpb.LeaseGrantRequest", encodeLeaseGrantRequest(30)), {
    TTL: "30",
  });
  assert.deepEqual(
    theirs("etcdserverpb.LeaseRevokeRequest", encodeLeaseIdRequest("7587869832931474438")),
    { ID: "7587869832931474438" },
  );
  assert.deepEqual(theirs("etcdserverpb.LeaseKeepAliveRequest", encodeLeaseIdRequest("1")), {
    ID: "1",
  });
  assert.deepEqual(
    decodeLeaseResponse(
      encode("etcdserverpb.LeaseGrantResponse", {
        header,
        ID: "7587869832931474438",
        TTL: 30,
        error: "",
      }),
    ),
    { id: "7587869832931474438", ttl: 30, error: "" },
  );
  assert.deepEqual(
    decodeLeaseResponse(encode("etcdserverpb.LeaseGrantResponse", { header, error: "no space" })),
    { id: "0", ttl: 0, error: "no space" },
  );
  assert.deepEqual(
    decodeLeaseResponse(encode("etcdserverpb.LeaseKeepAliveResponse", { header, ID: 5, TTL: 9 })),
    { id: "5", ttl: 9, error: "" },
  );
});

test("Authenticate request and token", () => {
  assert.deepEqual(
    theirs("etcdserverpb.AuthenticateRequest", encodeAuthenticateRequest("root", "pä$$")),
    { name: "root", password: "pä$$" },
  );
  assert.equal(
    decodeAuthenticateResponse(
      encode("etcdserverpb.AuthenticateResponse", { header, token: "abc.123" }),
    ),
    "abc.123",
  );
});

test("Watch: create and progress requests; responses with events, compaction, cancel", () => {
  assert.deepEqual(
    theirs(
      "etcdserverpb.WatchRequest",
      encodeWatchCreate({
        key: Buffer.from("/p/"),
        rangeEnd: Buffer.from("/p0"),
        startRevision: 9_007_199_254,
        prevKv: true,
        noPut: false,
      }),
    ),
    {
      create_request: {
        key: b64("/p/"),
        range_end: b64("/p0"),
        start_revision: "9007199254",
        prev_kv: true,
      },
    },
  );
  assert.deepEqual(
    theirs(
      "etcdserverpb.WatchRequest",
      encodeWatchCreate({
        key: Buffer.from([0]),
        rangeEnd: Buffer.from([0]),
        startRevision: 0,
        prevKv: false,
        noPut: true,
      }),
    ),
    {
      create_request: { key: "AA==", range_end: "AA==", filters: ["Noput"] },
    },
  );
  assert.deepEqual(theirs("etcdserverpb.WatchRequest", WATCH_PROGRESS_REQUEST), {
    progress_request: {},
  });
  const res = decodeWatchResponse(
    encode("etcdserverpb.WatchResponse", {
      header,
      watch_id: 3,
      created: true,
      events: [
        { type: "Put", kv, prev_kv: { ...kv, mod_revision: 8, version: 3 } },
        { type: "Delete", kv: { key: Buffer.from("/gone"), mod_revision: 12_345 } },
      ],
    }),
  );
  assert.equal(res.revision, 12_345);
  assert.equal(res.created, true);
  assert.equal(res.canceled, false);
  assert.equal(res.events.length, 2);
  const [put, del] = res.events;
  assert.ok(put?.type === "put");
  assert.equal(put.kv.modRevision, kv.mod_revision);
  assert.equal(put.prev?.modRevision, 8);
  assert.deepEqual(del, { type: "delete", key: "/gone", modRevision: 12_345 });
  const canceled = decodeWatchResponse(
    encode("etcdserverpb.WatchResponse", {
      header,
      canceled: true,
      compact_revision: 400,
      cancel_reason: "etcdserver: mvcc: required revision has been compacted",
    }),
  );
  assert.equal(canceled.canceled, true);
  assert.equal(canceled.compactRevision, 400);
  assert.match(canceled.cancelReason, /compacted/);
});

test("an answer we cannot read is an EtcdProtocolError", () => {
  const whole = encode("etcdserverpb.RangeResponse", {
    header,
    kvs: [kv],
    count: 1,
  });
  assert.throws(() => decodeRangeResponse(whole.subarray(0, whole.length - 3)), EtcdProtocolError);
  assert.throws(() => decodeRangeResponse(Buffer.from([0x0f])), EtcdProtocolError); // wire type 7
  const txn = encode("etcdserverpb.TxnResponse", { header, succeeded: true, responses: [] });
  assert.throws(() => decodeBatchTxn(txn, 2), EtcdProtocolError);
});
