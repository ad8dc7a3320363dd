// domeos-confd's settings: confd's flags and config-file keys, merged as the
// documentation (not confd's code) promises: defaults < config file <
// environment (CONFD_CLIENT_*) < command-line flags. confd decodes the file
// after parsing flags, so its file silently beats the command line.

import { existsSync, readFileSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import { type FlagSpec, HelpRequested, type ParsedFlags, parseFlags } from "../../goflag/flags.js";
import { mustParseDuration } from "../../golib/duration.js";
import { parseWait, type Wait } from "./wait.js";

export interface Settings {
  backend: string;
  nodes: string[];
  confdir: string;
  configFile: string;
  prefix: string;
  /** Seconds between passes in interval mode. */
  interval: number;
  watch: boolean;
  onetime: boolean;
  noop: boolean;
  syncOnly: boolean;
  keepStageFile: boolean;
  logLevel: string;
  clientCert: string;
  clientKey: string;
  clientCaKeys: string;
  clientInsecure: boolean;
  basicAuth: boolean;
  username: string;
  password: string;
  scheme: string;
  srvDomain: string;
  srvRecord: string;
  file: string[];
  filter: string;
  /** Global quiescence (consul-template -wait). */
  wait?: Wait;
  metricsAddr: string;
  /** Hold a re-listed snapshot that drops more than this share of the keys for a confirming re-read (0..1; 1 disables). */
  maxLineLoss: number;
  /** confd's behaviour: a key whose value breaks the render or check freezes the file. */
  freezeOnBadKey: boolean;
  /** Minimum time between two reloads of one resource (ms). */
  reloadMinIntervalMs: number;
  /** Timeout of check_cmd and reload_cmd (ms). */
  commandTimeoutMs: number;
  /** Cap of the retry backoff after a failed render/check (ms). */
  retryMaxMs: number;
  version: boolean;
}

export const DEFAULTS: Settings = {
  backend: "etcd",
  nodes: [],
  confdir: "/etc/confd",
  configFile: "/etc/confd/confd.toml",
  prefix: "",
  interval: 600,
  watch: false,
  onetime: false,
  noop: false,
  syncOnly: false,
  keepStageFile: false,
  logLevel: "",
  clientCert: "",
  clientKey: "",
  clientCaKeys: "",
  clientInsecure: false,
  basicAuth: false,
  username: "",
  password: "",
  scheme: "http",
  srvDomain: "",
  srvRecord: "",
  file: [],
  filter: "*",
  metricsAddr: "",
  maxLineLoss: 0.5,
  freezeOnBadKey: false,
  reloadMinIntervalMs: 0,
  commandTimeoutMs: 30000,
  retryMaxMs: 30000,
  version: false,
};

type Key = keyof Settings;

interface Option {
  key: Key;
  flag: FlagSpec;
  /** Config-file key (confd's spelling); hyphen/underscore variants are accepted too. */
  fileKey?: string;
  /** Converts a string flag/file value (durations, ratios). */
  convert?: (v: string) => unknown;
}

const s = (name: string, usage: string, defaultText?: string): FlagSpec => ({
  name,
  kind: "string",
  usage,
  defaultText,
});
const b = (name: string, usage: string): FlagSpec => ({ name, kind: "bool", usage });
const l = (name: string, usage: string): FlagSpec => ({ name, kind: "list", usage });

function ratio(v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new Error(
      `invalid line-loss ratio ${JSON.stringify(v)}: expected a number between 0 and 1`,
    );
  }
  return n;
}

const ms = (v: string) => mustParseDuration(v.trim());

export const OPTIONS: Option[] = [
  {
    key: "backend",
    flag: s("backend", "backend to use (etcd, etcdv3, embedded, kubernetes, file, env)", "etcd"),
    fileKey: "backend",
  },
  { key: "nodes", flag: l("node", "list of backend nodes"), fileKey: "nodes" },
  { key: "confdir", flag: s("confdir", "confd conf directory", "/etc/confd"), fileKey: "confdir" },
  { key: "configFile", flag: s("config-file", "the confd config file", "/etc/confd/confd.toml") },
  {
    key: "prefix",
    flag: s("prefix", "key path prefix (replaces every resource's prefix)"),
    fileKey: "prefix",
  },
  {
    key: "interval",
    flag: {
      name: "interval",
      kind: "int",
      usage: "backend polling interval (seconds)",
      defaultText: "600",
    },
    fileKey: "interval",
  },
  { key: "watch", flag: b("watch", "enable watch support"), fileKey: "watch" },
  { key: "onetime", flag: b("onetime", "run once and exit"), fileKey: "onetime" },
  { key: "noop", flag: b("noop", "only show pending changes (unified diff)"), fileKey: "noop" },
  {
    key: "syncOnly",
    flag: b("sync-only", "sync without check_cmd and reload_cmd"),
    fileKey: "sync-only",
  },
  {
    key: "keepStageFile",
    flag: b("keep-stage-file", "keep staged files"),
    fileKey: "keep-stage-file",
  },
  {
    key: "logLevel",
    flag: s("log-level", "level which confd should log messages (debug, info, warning, error)"),
    fileKey: "log-level",
  },
  { key: "clientCert", flag: s("client-cert", "the client cert"), fileKey: "client_cert" },
  { key: "clientKey", flag: s("client-key", "the client key"), fileKey: "client_key" },
  { key: "clientCaKeys", flag: s("client-ca-keys", "client ca keys"), fileKey: "client_cakeys" },
  {
    key: "clientInsecure",
    flag: b(
      "client-insecure",
      "allow connections to TLS servers with a certificate not signed by the CA (etcd)",
    ),
    fileKey: "client_insecure",
  },
  {
    key: "basicAuth",
    flag: b("basic-auth", "use basic auth to authenticate"),
    fileKey: "basic_auth",
  },
  { key: "username", flag: s("username", "the username to authenticate as"), fileKey: "username" },
  {
    key: "password",
    flag: s("password", "the password to authenticate with"),
    fileKey: "password",
  },
  {
    key: "scheme",
    flag: s("scheme", "the backend URI scheme for nodes without one (http or https)", "http"),
    fileKey: "scheme",
  },
  {
    key: "srvDomain",
    flag: s("srv-domain", "the name of the resource record (DNS SRV discovery is not supported)"),
    fileKey: "srv_domain",
  },
  {
    key: "srvRecord",
    flag: s("srv-record", "the SRV record to search for backends nodes (not supported)"),
    fileKey: "srv_record",
  },
  {
    key: "file",
    flag: l("file", "the YAML/JSON file (or directory) to watch for changes (file backend)"),
    fileKey: "file",
  },
  {
    key: "filter",
    flag: s("filter", "files filter in directories (file backend)", "*"),
    fileKey: "filter",
  },
  {
    key: "wait",
    flag: s("wait", "quiescence min:max before rendering, e.g. 100ms:1s (default: none)"),
    fileKey: "wait",
    convert: parseWait,
  },
  {
    key: "metricsAddr",
    flag: s(
      "metrics-addr",
      "listen address for /metrics and /healthz, e.g. 127.0.0.1:9101 (default: off)",
    ),
    fileKey: "metrics_addr",
  },
  {
    key: "maxLineLoss",
    flag: s(
      "max-line-loss",
      "hold a snapshot read after a reconnect/compaction/reset that drops more than this share of the keys (or an empty read) for a confirming re-read; 1 disables",
      "0.5",
    ),
    fileKey: "max_line_loss",
    convert: ratio,
  },
  {
    key: "freezeOnBadKey",
    flag: b(
      "freeze-on-bad-key",
      "confd's behaviour: a pod whose value breaks the render or check_cmd freezes the whole file (default: leave that pod out)",
    ),
    fileKey: "freeze_on_bad_key",
  },
  {
    key: "reloadMinIntervalMs",
    flag: s("reload-min-interval", "minimum time between two reloads of one resource", "0s"),
    fileKey: "reload_min_interval",
    convert: ms,
  },
  {
    key: "commandTimeoutMs",
    flag: s("command-timeout", "timeout of check_cmd and reload_cmd", "30s"),
    fileKey: "command_timeout",
    convert: ms,
  },
  {
    key: "retryMaxMs",
    flag: s("retry-max", "maximum delay between retries of a failed render or check", "30s"),
    fileKey: "retry_max",
    convert: ms,
  },
  { key: "version", flag: b("version", "print version and exit") },
];

/** Flags confd knows for backends this build does not have: accepted, rejected when used with a backend. */
const UNSUPPORTED_FLAGS = [
  "auth-token",
  "auth-type",
  "app-id",
  "user-id",
  "role-id",
  "secret-id",
  "path",
  "table",
  "separator",
];

export const FLAG_DEFS: FlagSpec[] = [
  ...OPTIONS.map((o) => o.flag),
  ...UNSUPPORTED_FLAGS.map((n) =>
    s(n, "vault/dynamodb/redis option of confd (backend not supported here)"),
  ),
];

export class SettingsError extends Error {
  override name = "SettingsError";
}

export interface LoadedSettings {
  settings: Settings;
  warnings: string[];
  help: boolean;
}

/** Parses argv, reads the config file, merges (flags win) and validates. */
export function loadSettings(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): LoadedSettings {
  let parsed: ParsedFlags;
  try {
    parsed = parseFlags(FLAG_DEFS, argv);
  } catch (err) {
    // Go's flag.Parse stops at -h with ErrHelp: nothing else is read.
    if (err instanceof HelpRequested)
      return { settings: { ...DEFAULTS, nodes: [], file: [] }, warnings: [], help: true };
    throw new SettingsError((err as Error).message);
  }
  const warnings: string[] = [];
  if (parsed.args.length > 0)
    warnings.push(`ignoring non-flag arguments: ${parsed.args.join(" ")}`);
  const settings: Settings = { ...DEFAULTS, nodes: [], file: [] };
  const configFile =
    (parsed.values.get("config-file") as string | undefined) ?? DEFAULTS.configFile;
  settings.configFile = configFile;
  if (existsSync(configFile)) applyFile(settings, configFile, warnings);
  else if (parsed.values.has("config-file"))
    warnings.push(`config file ${configFile} does not exist; using flags and defaults`);
  applyEnv(settings, env);
  for (const o of OPTIONS) {
    if (!parsed.values.has(o.flag.name)) continue;
    const v = parsed.values.get(o.flag.name);
    setValue(settings, o, v, `flag -${o.flag.name}`);
  }
  for (const n of UNSUPPORTED_FLAGS) {
    if (parsed.values.has(n))
      warnings.push(`flag -${n} belongs to a backend this build does not support; ignored`);
  }
  if (settings.srvDomain !== "" || settings.srvRecord !== "")
    warnings.push(
      "-srv-domain/-srv-record: DNS SRV discovery of backend nodes is not supported; ignored (list the nodes with -node)",
    );
  validate(settings);
  return { settings, warnings, help: false };
}

function setValue(settings: Settings, o: Option, v: unknown, where: string): void {
  try {
    const val =
      o.convert && (typeof v === "string" || typeof v === "number") ? o.convert(String(v)) : v;
    (settings as unknown as Record<string, unknown>)[o.key] = val;
  } catch (err) {
    throw new SettingsError(`${where}: ${(err as Error).message}`);
  }
}

const norm = (k: string) => k.replaceAll("-", "_");

function applyFile(settings: Settings, file: string, warnings: string[]): void {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new SettingsError(`config file ${file}: ${(err as Error).message.split("\n")[0]}`);
  }
  const byKey = new Map(
    OPTIONS.filter((o) => o.fileKey).map((o) => [norm(o.fileKey as string), o]),
  );
  for (const [k, v] of Object.entries(doc)) {
    const o = byKey.get(norm(k));
    if (!o) {
      warnings.push(`config file ${file}: unknown key ${JSON.stringify(k)} ignored`);
      continue;
    }
    checkType(o, v, `config file ${file}: key ${JSON.stringify(k)}`);
    setValue(settings, o, v, `config file ${file}: key ${JSON.stringify(k)}`);
  }
}

function checkType(o: Option, v: unknown, where: string): void {
  const kind = o.flag.kind;
  const ok =
    kind === "bool"
      ? typeof v === "boolean"
      : kind === "int"
        ? typeof v === "number" && Number.isInteger(v)
        : kind === "list"
          ? Array.isArray(v) && v.every((x) => typeof x === "string")
          : typeof v === "string" || (o.convert !== undefined && typeof v === "number");
  if (!ok) {
    const want =
      kind === "list"
        ? "an array of strings"
        : kind === "int"
          ? "an integer"
          : kind === "bool"
            ? "a boolean"
            : "a string";
    throw new SettingsError(`${where}: expected ${want}, got ${JSON.stringify(v)}`);
  }
}

function applyEnv(settings: Settings, env: NodeJS.ProcessEnv): void {
  // confd reads these only when the flag is empty; flags are applied after.
  if (!settings.clientCert && env.CONFD_CLIENT_CERT) settings.clientCert = env.CONFD_CLIENT_CERT;
  if (!settings.clientKey && env.CONFD_CLIENT_KEY) settings.clientKey = env.CONFD_CLIENT_KEY;
  if (!settings.clientCaKeys && env.CONFD_CLIENT_CAKEYS)
    settings.clientCaKeys = env.CONFD_CLIENT_CAKEYS;
}

const LOG_LEVELS = new Set(["", "debug", "info", "warn", "warning", "error", "fatal", "panic"]);

const MIN_RETRY_MAX_MS = 100;

function validate(st: Settings): void {
  if (!LOG_LEVELS.has(st.logLevel.toLowerCase())) {
    throw new SettingsError(
      `not a valid log level: ${JSON.stringify(st.logLevel)} (debug, info, warning, error)`,
    );
  }
  if (st.interval <= 0)
    throw new SettingsError(`-interval must be a positive number of seconds, got ${st.interval}`);
  if (typeof st.maxLineLoss === "string") st.maxLineLoss = ratio(st.maxLineLoss);
  if (typeof st.maxLineLoss === "number" && (st.maxLineLoss < 0 || st.maxLineLoss > 1)) {
    throw new SettingsError(`max-line-loss must be between 0 and 1, got ${st.maxLineLoss}`);
  }
  // A tiny cap would rerun a failing check_cmd/reload_cmd in a tight loop.
  if (!(st.retryMaxMs >= MIN_RETRY_MAX_MS)) {
    throw new SettingsError(`-retry-max must be at least 100ms, got ${st.retryMaxMs}ms`);
  }
  if (st.basicAuth && (!st.username || !st.password)) {
    throw new SettingsError("-basic-auth needs -username and -password");
  }
  if (st.scheme !== "http" && st.scheme !== "https") {
    throw new SettingsError(`-scheme must be http or https, got ${JSON.stringify(st.scheme)}`);
  }
  if ((st.clientCert === "") !== (st.clientKey === "")) {
    throw new SettingsError("-client-cert and -client-key must be given together");
  }
}
