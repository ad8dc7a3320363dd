// jsonQuery JSON PATH: "key", "a.b", "list.[1].name"; "\." escapes a dot.
// (dockerize's pinned parser broke nested paths; the documented syntax is
// what users write, so it is what works here.)

import { FuncError } from "../../gotemplate/value.js";

function segments(path: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === "\\" && path[i + 1] === ".") {
      cur += ".";
      i++;
    } else if (c === ".") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function jsonQuery(json: string, path: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw new FuncError(`unable to unmarshal json: ${(err as Error).message}`);
  }
  for (const seg of path === "" ? [] : segments(path)) {
    const idx = /^\[(\d+)\]$/.exec(seg);
    if (idx !== null && Array.isArray(v) && Number(idx[1]) < v.length) {
      v = v[Number(idx[1])];
    } else if (
      idx === null &&
      typeof v === "object" &&
      v !== null &&
      !Array.isArray(v) &&
      Object.hasOwn(v, seg)
    ) {
      v = (v as Record<string, unknown>)[seg];
    } else {
      throw new FuncError(`${path} does not exist.`);
    }
  }
  return v;
}
