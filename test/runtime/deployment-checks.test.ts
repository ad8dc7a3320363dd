// The standalone runtime's own deployment checks (on top of the server's model).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { standaloneProblems } from "../../src/runtime/deployment-checks.js";

const dir = mkdtempSync(join(tmpdir(), "checks-"));
const tmpl = join(dir, "app.tmpl");
writeFileSync(tmpl, "port {{ .Env.AUTO_PORT0 }}\n");
after(() => rmSync(dir, { recursive: true, force: true }));

test("a good host-mode deployment has no problems", () => {
  assert.deepEqual(
    standaloneProblems({
      command: ["x"],
      ports: 2,
      templates: [`${tmpl}:app.conf`, { src: tmpl, dest: "sub/b.conf" }],
    }),
    [],
  );
  assert.deepEqual(standaloneProblems({ command: ["x"], networkMode: "DEFAULT" }), []);
});

test("each problem names the field and the value", () => {
  const p = standaloneProblems({
    ports: 0,
    templates: [
      "relative.tmpl:a.conf",
      `${join(dir, "missing.tmpl")}:b.conf`,
      `${dir}:c.conf`,
      `${tmpl}:/etc/x`,
      `${tmpl}:../up`,
    ],
  });
  assert.deepEqual(p, [
    "command is required: the standalone runtime runs a command (an image alone needs Kubernetes)",
    "ports: a host-mode deployment exposes at least 1 port (the number of AUTO_PORTn its pods get); use networkMode DEFAULT for none",
    'templates[0] source "relative.tmpl" must be an absolute path on this host',
    `templates[1] source ${JSON.stringify(join(dir, "missing.tmpl"))} does not exist on this host (or is not a file)`,
    `templates[2] source ${JSON.stringify(dir)} does not exist on this host (or is not a file)`,
    `templates[3] destination "/etc/x" must be a relative path inside the pod's working directory`,
    `templates[4] destination "../up" must be a relative path inside the pod's working directory`,
  ]);
});

test("malformed template entries are left to the server's own check", () => {
  assert.deepEqual(
    standaloneProblems({ command: ["x"], ports: 1, templates: ["a:b:c", 7, ":x"] }),
    [],
  );
});
