// The log's time stamp in the local zone as Go 1.19's log package prints
// it, without Date's local-time methods (src/domeize/local-offset.ts): the
// expectations are Go's own output (fixtures/log-stamp/go-1.19.json, from
// fixtures/log-stamp/main.go run with each TZ value on Debian's tzdata).

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { resetLocalZone, tzifOffset, zoneFile } from "../../src/domeize/local-offset.js";
import { stamp } from "../../src/domeize/log.js";
import { ROOT } from "./helpers.js";

const FIXTURE = `${ROOT}/test/domeize/fixtures/log-stamp/go-1.19.json`;
const noTzdata = existsSync("/usr/share/zoneinfo/Europe/Paris")
  ? false
  : "no tzdata in /usr/share/zoneinfo";

test("the local zone's file, as Go finds it from TZ", () => {
  assert.deepEqual(zoneFile(undefined), ["/etc/localtime"]);
  assert.equal(zoneFile(""), undefined, "TZ empty: UTC");
  assert.equal(zoneFile("UTC"), undefined);
  assert.equal(zoneFile(":UTC"), undefined);
  assert.deepEqual(zoneFile(":/etc/zone"), ["/etc/zone"]);
  assert.equal(zoneFile("../etc/passwd"), undefined, "no escape from the zoneinfo directory");
  assert.equal(zoneFile("Europe/Paris")?.[0], "/usr/share/zoneinfo/Europe/Paris");
});

test("log stamps are Go 1.19's for every TZ value and instant of the fixture", {
  skip: noTzdata,
}, () => {
  const cases = JSON.parse(readFileSync(FIXTURE, "utf8")) as [string, number, string][];
  assert.ok(cases.length >= 60);
  let ruled = 0;
  for (const [tz, sec, want] of cases) {
    resetLocalZone();
    const file = zoneFile(tz)?.find((p) => existsSync(p));
    // After a zone file's last transition a DST footer rule decides, which
    // is handed to Date (the process's own zone): checked for what it is.
    if (file !== undefined && tzifOffset(readFileSync(file), sec) === "rule") {
      ruled++;
      continue;
    }
    assert.equal(stamp(sec * 1000, { TZ: tz }), want, `TZ=${JSON.stringify(tz)} at ${sec}`);
  }
  // Debian's "fat" zone files leave only the 2040 instants of DST zones to the rule.
  assert.ok(
    ruled <= cases.length / 4,
    `${ruled} of ${cases.length} instants left to the footer rule`,
  );
  resetLocalZone();
});

test("TZif: v1-only data, before the first transition, malformed files", () => {
  // A version-1 file: one transition at t=100 from type 0 (+1h std) to type 1 (+2h dst).
  const v1 = Buffer.alloc(44 + 4 + 1 + 12 + 4);
  v1.write("TZif", 0, "latin1");
  const counts = [0, 0, 0, 1, 2, 4]; // isut, isstd, leap, time, type, char
  counts.forEach((n, i) => {
    v1.writeUInt32BE(n, 20 + 4 * i);
  });
  v1.writeInt32BE(100, 44);
  v1[48] = 1;
  v1.writeInt32BE(3600, 49);
  v1[53] = 0;
  v1.writeInt32BE(7200, 55);
  v1[59] = 1;
  assert.equal(tzifOffset(v1, 50), 3600, "before the first transition: the first standard type");
  assert.equal(tzifOffset(v1, 100), 7200);
  assert.equal(tzifOffset(v1, 1e9), 7200);
  assert.equal(tzifOffset(Buffer.from("not a zone file"), 0), undefined);
  assert.equal(tzifOffset(v1.subarray(0, 50), 0), undefined, "truncated");
});
