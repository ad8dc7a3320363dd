// Decodes the argument encoding of the oracle-recorded fmt tables
// (cases.json, print-cases.json): {int}, {float}, {complex}, {data}.
import { GoComplex } from "../../../src/gotemplate/value.js";

export function decode(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if ("int" in o) return BigInt(o.int as string);
  if ("float" in o) return Number(o.float);
  if ("complex" in o) {
    const [re, im] = o.complex as [number, number];
    return new GoComplex(re, im);
  }
  if ("data" in o) return o.data;
  throw new Error(`bad argument encoding ${JSON.stringify(v)}`);
}
