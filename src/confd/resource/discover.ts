// Finds resource files the way confd does: a recursive walk of
// `<confdir>/conf.d` in lexical order, keeping files whose base name matches
// the glob "*toml" (so "xtoml" matches too, as in confd).

import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export class DiscoverError extends Error {
  override name = "DiscoverError";
}

export function discoverResources(confdir: string): string[] {
  const confd = join(confdir, "conf.d");
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(confd);
  } catch {
    throw new DiscoverError(`stat ${confd}: no such file or directory`);
  }
  if (!st.isDirectory()) throw new DiscoverError(`${confd} is not a directory`);
  const out: string[] = [];
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith("toml")) out.push(p);
    }
  };
  walk(confd);
  return out;
}
