// Templates in two steps. load(): read and parse every template up front,
// before any port is allocated, so a bad template or -delims fails early.
// render(): execute them all into memory, and only when every one succeeded
// write the files (atomically) and stdout: an error leaves every destination
// untouched.

import { existsSync, readFileSync, writeSync } from "node:fs";
import { basename } from "node:path";
import { EXIT, fail } from "../exit.js";
import { writeAllAtomic } from "./atomic.js";
import { envContext } from "./context.js";
import type { TemplateJob } from "./spec.js";

type EngineTemplate = import("../../gotemplate/index.js").Template;

export interface LoadedTemplate {
  readonly job: TemplateJob;
  readonly template: EngineTemplate;
}

async function engine() {
  const [mod, funcs] = await Promise.all([
    import("../../gotemplate/index.js"),
    import("../funcs/index.js"),
  ]);
  return { Template: mod.Template, funcs: funcs.templateFuncs() };
}

export async function loadTemplates(
  jobs: readonly TemplateJob[],
  delims: readonly [string, string],
): Promise<LoadedTemplate[]> {
  if (jobs.length === 0) return [];
  const { Template, funcs } = await engine();
  return jobs.map((job) => {
    let text: string;
    try {
      text = readFileSync(job.src, "utf8");
    } catch (err) {
      return fail(EXIT.template, `cannot read template ${job.src}: ${(err as Error).message}`);
    }
    const template = new Template(basename(job.src), { delims, funcs });
    try {
      template.parse(text);
    } catch (err) {
      return fail(EXIT.template, `cannot parse template ${job.src}: ${(err as Error).message}`);
    }
    return { job, template };
  });
}

export async function renderTemplates(
  loaded: readonly LoadedTemplate[],
  noOverwrite: boolean,
): Promise<void> {
  const outputs: { job: TemplateJob; text: string }[] = [];
  for (const { job, template } of loaded) {
    if (noOverwrite && job.dest !== undefined && existsSync(job.dest)) continue;
    try {
      outputs.push({ job, text: template.execute(envContext()) });
    } catch (err) {
      fail(EXIT.template, `cannot render template ${job.src}: ${(err as Error).message}`);
    }
  }
  for (const { job, text } of outputs) if (job.dest === undefined) writeStdout(text);
  const files = outputs.flatMap(({ job, text }) =>
    job.dest === undefined ? [] : [{ dest: job.dest, content: text }],
  );
  if (files.length === 0) return;
  try {
    await writeAllAtomic(files);
  } catch (err) {
    fail(EXIT.template, (err as Error).message);
  }
}

/** Synchronous, complete write to fd 1: the app may replace us right after. */
function writeStdout(text: string): void {
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  while (off < buf.length) off += writeSync(1, buf, off);
}
