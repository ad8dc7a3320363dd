// The seed's resource says owner = "root"; run as an ordinary user, confd
// writes the file anyway and only the chown fails (its error is ignored). Here:
// the file is written, the refusal is a warning, exit 0, and the next run does
// not rewrite or reload for an owner it can never give.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CONFD_GOLDEN, REPO_ROOT } from "../support/fixtures.js";

const NOBODY = 65534;
const root = process.geteuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), "confd-owner-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function setup() {
  chmodSync(dir, 0o755);
  for (const d of ["conf.d", "templates", "out"]) mkdirSync(join(dir, d));
  writeFileSync(
    join(dir, "templates", "upstream.tmpl"),
    readFileSync(join(CONFD_GOLDEN, "upstream.tmpl")),
  );
  const pods = JSON.parse(readFileSync(join(CONFD_GOLDEN, "pods-12.json"), "utf8")) as Record<
    string,
    string
  >;
  const byName: Record<string, string> = {};
  for (const [k, v] of Object.entries(pods)) byName[k.split("/").pop()!] = v;
  writeFileSync(
    join(dir, "pods.json"),
    JSON.stringify({ registry: { pods: { default: byName } } }),
  );
  const reloads = join(dir, "out", "reloads");
  // the seed's resource (docs/reference/confd.md): owner = "root", mode = "0644"
  writeFileSync(
    join(dir, "conf.d", "nginx.toml"),
    `[template]\nsrc = "upstream.tmpl"\ndest = "${join(dir, "out", "upstream.conf")}"\nkeys = [\n "/registry/pods/default",\n]\n  \nowner = "root"\nmode = "0644"\ncheck_cmd = "test -s {{.src}}"\nreload_cmd = "echo reloaded >> ${reloads}"\n`,
  );
  // as root, the run below is an ordinary user that may write only out/
  if (root) chownSync(join(dir, "out"), NOBODY, NOBODY);
  return { dest: join(dir, "out", "upstream.conf"), reloads };
}

function onetimeAsUser() {
  return spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, "dist", "src", "confd", "main.js"),
      "-onetime",
      "-backend",
      "file",
      "-file",
      join(dir, "pods.json"),
      "-confdir",
      dir,
      "-config-file",
      "/nonexistent",
      "-log-level",
      "info",
    ],
    { encoding: "utf8", timeout: 60_000, ...(root ? { uid: NOBODY, gid: NOBODY } : {}) },
  );
}

test('owner = "root" as a non-root user: written, chown refusal is a warning, exit 0', () => {
  const { dest, reloads } = setup();
  const first = onetimeAsUser();
  assert.equal(first.status, 0, first.stderr);
  assert.equal(
    readFileSync(dest, "utf8"),
    readFileSync(join(CONFD_GOLDEN, "upstream-12pods.conf"), "utf8"),
  );
  assert.match(first.stderr, /WARNING .*upstream\.conf: cannot give it uid 0 \(EPERM/);
  assert.notEqual(statSync(dest).uid, 0);
  assert.equal(statSync(dest).mode & 0o777, 0o644);
  assert.equal(readFileSync(reloads, "utf8"), "reloaded\n");

  const second = onetimeAsUser();
  assert.equal(second.status, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /should be 0/, "an unreachable owner is not a difference");
  assert.equal(readFileSync(reloads, "utf8"), "reloaded\n", "no second reload");
});
