// Go's `flag` package command-line syntax, so confd command lines keep
// working: -f, --f, -f=v, -f v (not for booleans), -bool=false, repeatable
// flags, parsing stops at the first non-flag argument or at "--".

export type FlagKind = "string" | "bool" | "int" | "list";

export interface FlagDef {
  name: string;
  kind: FlagKind;
  usage: string;
  /** Default shown in the usage text. */
  def?: string;
}

export interface ParsedFlags {
  values: Map<string, string | boolean | number | string[]>;
  /** Flags that appeared on the command line (they override the config file). */
  set: Set<string>;
  rest: string[];
  help: boolean;
}

export class FlagError extends Error {
  override name = "FlagError";
}

const BOOL_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const BOOL_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

export function parseGoFlags(argv: readonly string[], defs: readonly FlagDef[]): ParsedFlags {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const values: ParsedFlags["values"] = new Map();
  const set = new Set<string>();
  let help = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.length < 2 || arg[0] !== "-") break;
    let body = arg[1] === "-" ? arg.slice(2) : arg.slice(1);
    if (arg === "--") {
      i++;
      break;
    }
    if (body === "" || body[0] === "-" || body[0] === "=")
      throw new FlagError(`bad flag syntax: ${arg}`);
    let value: string | undefined;
    const eq = body.indexOf("=");
    if (eq >= 0) {
      value = body.slice(eq + 1);
      body = body.slice(0, eq);
    }
    const def = byName.get(body);
    if (!def) {
      if (body === "h" || body === "help") {
        help = true;
        continue;
      }
      throw new FlagError(`flag provided but not defined: -${body}`);
    }
    if (def.kind === "bool") {
      if (value === undefined) values.set(def.name, true);
      else if (BOOL_TRUE.has(value)) values.set(def.name, true);
      else if (BOOL_FALSE.has(value)) values.set(def.name, false);
      else
        throw new FlagError(
          `invalid boolean value ${JSON.stringify(value)} for -${body}: parse error`,
        );
      set.add(def.name);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${body}`);
      value = argv[++i];
    }
    values.set(def.name, convert(def, value, values.get(def.name)));
    set.add(def.name);
  }
  return { values, set, rest: argv.slice(i), help };
}

function convert(def: FlagDef, value: string, prev: unknown): string | number | string[] {
  if (def.kind === "int") {
    if (!/^[+-]?\d+$/.test(value))
      throw new FlagError(
        `invalid value ${JSON.stringify(value)} for flag -${def.name}: parse error`,
      );
    return Number(value);
  }
  if (def.kind === "list") return [...((prev as string[] | undefined) ?? []), value];
  return value;
}

/** Usage text in Go's flag.PrintDefaults layout. */
export function usage(program: string, defs: readonly FlagDef[]): string {
  const lines = [`Usage of ${program}:`];
  for (const d of [...defs].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const typeName =
      d.kind === "bool" ? "" : d.kind === "int" ? " int" : d.kind === "list" ? " value" : " string";
    lines.push(`  -${d.name}${typeName}`);
    lines.push(
      `    \t${d.usage}${d.def ? ` (default ${d.kind === "string" ? JSON.stringify(d.def) : d.def})` : ""}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
