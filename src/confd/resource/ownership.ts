// owner / group names to ids (from /etc/passwd and /etc/group). confd never
// implemented owner/group (they are silently ignored); here they work, and an
// unknown name is an error that names the resource.

import { readFileSync } from "node:fs";

function lookup(file: string, name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f.length >= 3 && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}

export function userId(name: string, passwd = "/etc/passwd"): number {
  const id = lookup(passwd, name);
  if (id === undefined) throw new Error(`unknown user ${JSON.stringify(name)} (not in ${passwd})`);
  return id;
}

export function groupId(name: string, group = "/etc/group"): number {
  const id = lookup(group, name);
  if (id === undefined) throw new Error(`unknown group ${JSON.stringify(name)} (not in ${group})`);
  return id;
}
