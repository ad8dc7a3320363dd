// Templates in two steps. load(): read and parse every template up front,
// before any port is allocated, so a bad template or -delims fails early.
// render(): execute them all into memory, and only when every one succeeded
// write the files (atomically) and stdout: an error leaves every destination
// untouched.

import { existsSync, readFileSync, writeSync } from "node:fs";
import { basename } from "node:path";
import { EXIT, fail } from "../exit.js";
import { type StagedFiles, stageAll } from "./atomic.js";
import { envContext } from "./context.js";
import type { TemplateJob } from "./spec.js";

type EngineTemplate = import("../../gotemplate/index.js").Template;

export interface LoadedTemplate {
  readonly job: TemplateJob;
  readonly template: EngineTemplate;
}

type Funcs = ReturnType<typeof import("../funcs/index.js").templateFuncs>;

async function engine() {
  const [mod, funcs] = await Promise.all([
    import("../../gotemplate/index.js"),
    import("../funcs/index.js"),
  ]);
  return { Template: mod.Template, funcs: Object.entries(funcs.templateFuncs()) };
}

/**
 * The functions a template can call: those whose name occurs in its text.
 * Functions are looked up only by the identifiers the text contains (at
 * parse and at execution), so this is the same template as with the whole
 * map, without registering and checking ~200 functions per template.
 */
export function funcsFor(text: string, all: readonly [string, Funcs[string]][]): Funcs {
  const used: Funcs = {};
  for (const [name, f] of all) if (text.includes(name)) used[name] = f;
  return used;
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
    const template = new Template(basename(job.src), { delims, funcs: funcsFor(text, funcs) });
    try {
      template.parse(text);
    } catch (err) {
      return fail(EXIT.template, `cannot parse template ${job.src}: ${(err as Error).message}`);
    }
    return { job, template };
  });
}

/** Rendered templates: files staged (written, fsynced), stdout output held. */
export interface Staged {
  /** Write the stdout templates and put every file in place. */
  commit(): Promise<void>;
  /** Drop everything: no destination touched, nothing written to stdout. */
  abort(): void;
}

/**
 * Execute every template into memory and, only when every one succeeded,
 * stage the files (temp files written and fsynced). Nothing is visible
 * until commit(), so this may run while the ports are being reported.
 */
export async function stageTemplates(
  loaded: readonly LoadedTemplate[],
  noOverwrite: boolean,
): Promise<Staged> {
  const outputs: { job: TemplateJob; text: string }[] = [];
  for (const { job, template } of loaded) {
    if (noOverwrite && job.dest !== undefined && existsSync(job.dest)) continue;
    try {
      outputs.push({ job, text: template.execute(envContext()) });
    } catch (err) {
      fail(EXIT.template, `cannot render template ${job.src}: ${(err as Error).message}`);
    }
  }
  const files = outputs.flatMap(({ job, text }) =>
    job.dest === undefined ? [] : [{ dest: job.dest, content: text }],
  );
  let staged: StagedFiles | undefined;
  if (files.length > 0) {
    try {
      staged = await stageAll(files);
    } catch (err) {
      fail(EXIT.template, (err as Error).message);
    }
  }
  return {
    async commit() {
      for (const { job, text } of outputs) if (job.dest === undefined) writeStdout(text);
      try {
        await staged?.commit();
      } catch (err) {
        fail(EXIT.template, (err as Error).message);
      }
    },
    abort() {
      staged?.abort();
    },
  };
}

export async function renderTemplates(
  loaded: readonly LoadedTemplate[],
  noOverwrite: boolean,
): Promise<void> {
  await (await stageTemplates(loaded, noOverwrite)).commit();
}

/** Synchronous, complete write to fd 1: the app may replace us right after. */
function writeStdout(text: string): void {
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  while (off < buf.length) off += writeSync(1, buf, off);
}
