// The data templates see: dockerize's Context, whose method Env returns the
// environment as a map[string]string (so .Env.NAME, index .Env "A-B" and
// range over .Env work as in Go).

import { GoStruct, typedMap } from "../../gotemplate/value.js";

export class Context extends GoStruct {
  get goType(): string {
    return "*main.Context";
  }

  Env(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    return typedMap("map[string]string", env);
  }
}

export function envContext(): Context {
  return new Context();
}
