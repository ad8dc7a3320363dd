// "-template src:dest" arguments, as dockerize reads them: split on the
// first ":" only; no dest (or an empty one) renders to stdout; a directory
// src renders each regular file in it (sorted, no recursion) into dest.

import { readdirSync, statSync } from "node:fs";
import { EXIT, fail } from "../exit.js";

export interface TemplateJob {
  readonly src: string;
  /** undefined = stdout */
  readonly dest: string | undefined;
}

export function parseTemplateArg(arg: string, origin: string): TemplateJob[] {
  const colon = arg.indexOf(":");
  const src = colon < 0 ? arg : arg.slice(0, colon);
  const destRaw = colon < 0 ? "" : arg.slice(colon + 1);
  const dest = destRaw === "" ? undefined : destRaw;
  if (src === "") fail(EXIT.template, `${origin} "${arg}": empty template path`);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(src);
  } catch (err) {
    return fail(
      EXIT.template,
      `${origin} "${arg}": cannot read template ${src}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  if (!st.isDirectory()) return [{ src, dest }];
  const jobs: TemplateJob[] = [];
  for (const name of readdirSync(src).sort()) {
    const path = `${src}/${name}`;
    if (statSync(path).isDirectory()) {
      fail(
        EXIT.template,
        `${origin} "${arg}": ${path} is a directory (template directories are not recursive)`,
      );
    }
    jobs.push({ src: path, dest: dest === undefined ? undefined : `${dest}/${name}` });
  }
  return jobs;
}
