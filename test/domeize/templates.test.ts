// Templates through the real binary: files, directories, stdout, delims,
// -no-overwrite, atomic writes (errors leave destinations untouched, modes
// kept, parents created), dockerize's functions.

import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { after, before, test } from "node:test";
import { EXIT } from "../../src/domeize/exit.js";
import { STALE_TEMP_MS } from "../../src/domeize/render/atomic.js";
import { baseEnv, removeDir, runDomeize, tempDir } from "./helpers.js";

let dir: string;
before(() => {
  dir = tempDir();
});
after(() => removeDir(dir));

function file(name: string, text: string): string {
  const path = `${dir}/${name}`;
  writeFileSync(path, text);
  return path;
}

test("file, stdout, and DOMEIZE_TEMPLATES targets; .Env; no log on stdout", async () => {
  const t = file("a.tmpl", "name={{ .Env.NAME }} missing={{ .Env.NOPE }}\n");
  const r = await runDomeize(
    ["-template", `${t}:${dir}/out/deep/a.conf`, "-template", t],
    baseEnv({ NAME: "x", DOMEIZE_TEMPLATES: ` ${t}:${dir}/env.conf ,` }),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "name=x missing=<no value>\n", "stdout has the template and nothing else");
  assert.equal(readFileSync(`${dir}/out/deep/a.conf`, "utf8"), "name=x missing=<no value>\n");
  assert.equal(readFileSync(`${dir}/env.conf`, "utf8"), "name=x missing=<no value>\n");
});

test("a directory of templates renders each file into the destination directory", async () => {
  mkdirSync(`${dir}/tdir`);
  writeFileSync(`${dir}/tdir/one.conf`, "1:{{ .Env.V }}");
  writeFileSync(`${dir}/tdir/two.conf`, "2:{{ .Env.V }}");
  const r = await runDomeize(["-template", `${dir}/tdir:${dir}/odir`], baseEnv({ V: "v" }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(`${dir}/odir`).sort(), ["one.conf", "two.conf"]);
  assert.equal(readFileSync(`${dir}/odir/two.conf`, "utf8"), "2:v");
});

test("-delims changes the delimiters; {{ }} passes through", async () => {
  const t = file("d.tmpl", "<% .Env.V %> {{ .Env.V }}");
  const r = await runDomeize(["-delims", "<%:%>", "-template", t], baseEnv({ V: "v" }));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "v {{ .Env.V }}");
});

test("-no-overwrite keeps an existing destination", async () => {
  const t = file("n.tmpl", "new");
  const dest = file("n.conf", "old");
  const r = await runDomeize(
    ["-no-overwrite", "-template", `${t}:${dest}`, "-template", `${t}:${dir}/n2.conf`],
    baseEnv({}),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(dest, "utf8"), "old");
  assert.equal(readFileSync(`${dir}/n2.conf`, "utf8"), "new");
});

test("an execution error leaves every destination untouched; exit 4", async () => {
  const good = file("g.tmpl", "good");
  const bad = file("b.tmpl", "{{ atoi .Env.V }}");
  const d1 = file("g.conf", "old1");
  const d2 = file("b.conf", "old2");
  const r = await runDomeize(
    ["-template", `${good}:${d1}`, "-template", `${bad}:${d2}`],
    baseEnv({ V: "nan" }),
  );
  assert.equal(r.code, EXIT.template);
  assert.match(r.stderr, /b\.tmpl.*invalid syntax/);
  assert.equal(readFileSync(d1, "utf8"), "old1");
  assert.equal(readFileSync(d2, "utf8"), "old2");
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes(".domeize-")),
    [],
    "no temp files left",
  );
});

test("a render removes old temp files a killed domeize left beside its destination, and nothing else", async () => {
  const t = file("s.tmpl", "new");
  const dest = file("s.conf", "old");
  const old = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
  const stale = file(".s.conf.domeize-4242-abcdef", "half");
  utimesSync(stale, old, old);
  const fresh = file(".s.conf.domeize-4243-abcdef", "in progress elsewhere");
  const other = file(".other.conf.domeize-4244-abcdef", "someone else's");
  utimesSync(other, old, old);
  const r = await runDomeize(["-template", `${t}:${dest}`], baseEnv({}));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(dest, "utf8"), "new");
  assert.equal(existsSync(stale), false, "the old leftover is removed");
  assert.equal(existsSync(fresh), true, "a recent temp file may belong to a live run");
  assert.equal(existsSync(other), true, "other destinations' files are not touched");
});

test("a parse error or unknown function fails before anything runs", async () => {
  const bad = file("p.tmpl", "{{ if }}");
  const r = await runDomeize(
    ["-template", `${bad}:${dir}/p.conf`, "sh", "-c", "echo ran"],
    baseEnv({}),
  );
  assert.equal(r.code, EXIT.template);
  assert.match(r.stderr, /p\.tmpl/);
  assert.equal(r.stdout, "");
  assert.equal(existsSync(`${dir}/p.conf`), false);
  const nf = file("f.tmpl", "{{ nosuchfunc }}");
  const r2 = await runDomeize(["-template", nf], baseEnv({}));
  assert.equal(r2.code, EXIT.template);
  assert.match(r2.stderr, /function "nosuchfunc" not defined/);
});

test("an existing destination keeps its mode", async () => {
  const t = file("m.tmpl", "x");
  const dest = file("m.conf", "old");
  chmodSync(dest, 0o640);
  const r = await runDomeize(["-template", `${t}:${dest}`], baseEnv({}));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(dest).mode & 0o777, 0o640);
  assert.equal(readFileSync(dest, "utf8"), "x");
});

test("dockerize functions", async () => {
  const t = file(
    "f.tmpl",
    [
      '{{ default .Env.NOPE "d" }}|{{ default .Env.EMPTY "d" }}',
      '{{ contains .Env "V" }}|{{ contains .Env "NOPE" }}',
      '{{ exists "/" }}|{{ exists "/nonexistent" }}',
      '{{ split "a,b,c" "," }}|{{ replace "aaa" "a" "b" 2 }}|{{ replace "aaa" "a" "b" -1 }}',
      '{{ atoi "42" }}|{{ add 1 2 }}|{{ isTrue "Yes" }}|{{ isTrue "off" }}|{{ lower "AbC" }}|{{ upper "abc" }}',
      '{{ with parseUrl "https://u:p@h.example:8443/p?q=1#f" }}{{ .Scheme }} {{ .Host }} {{ .Hostname }} {{ .Port }} {{ .Path }} {{ .RawQuery }}{{ end }}',
      '{{ jsonQuery .Env.J "services.[1].port" }}|{{ jsonQuery .Env.J "name" }}',
      "{{ range loop 3 }}{{ . }}{{ end }}|{{ range loop 5 10 2 }}{{ . }}{{ end }}",
    ].join("\n"),
  );
  const env = baseEnv({ V: "v", EMPTY: "", J: '{"name":"n","services":[{"port":1},{"port":2}]}' });
  const r = await runDomeize(["-template", t], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split("\n"), [
    "d|",
    "true|false",
    "true|false",
    "[a b c]|bba|bbb",
    "42|3|true|false|abc|ABC",
    "https h.example:8443 h.example 8443 /p q=1",
    "2|n",
    "012|579",
  ]);
});

test("default with a non-string default is an error naming the hint", async () => {
  const t = file("dd.tmpl", "{{ default .Env.NOPE 5 }}");
  const r = await runDomeize(["-template", t], baseEnv({}));
  assert.equal(r.code, EXIT.template);
  assert.match(r.stderr, /surround it w\/ double quotes/);
});
