// domeos-server entry point: `serve` (default), `deploy ...`, `token ...`.
// The server's modules (etcd client, SQLite, metrics) load only when serving,
// so the CLI subcommands start fast.
import { parseArgs } from "node:util";
import { mintDeploymentToken, mintInstanceToken, mintPodToken } from "./auth/pod-token.js";
import { readStoredSecret, SECRET_FILE } from "./auth/secret.js";
import { cliRuntimeName, completeConfig } from "./config/config.js";
import { SERVE_HELP, TOKEN_HELP } from "./config/help.js";
import { duration, fromEnv, loadConfig, readSecretFile } from "./config/load.js";
import { deployCli } from "./deploy/cli.js";
import { jsonLogger } from "./log/logger.js";

async function main(argv: string[]): Promise<number> {
  const io = {
    out: (s: string) => process.stdout.write(s),
    err: (s: string) => process.stderr.write(s),
    env: process.env,
  };
  if (argv[0] === "deploy") return deployCli(argv.slice(1), io);
  if (argv[0] === "token") return tokenCommand(argv.slice(1));
  if (argv[0] === "manifests")
    return (await import("./deploy/manifest-cli.js")).manifestsCli(argv.slice(1), io);
  if (argv[0] === "serve") argv = argv.slice(1);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    process.stderr.write(`domeos-server: ${(err as Error).message}\n(see domeos-server --help)\n`);
    return 2;
  }
  // Out of the box, host-mode deployments run here as local processes.
  config.runtimeName = cliRuntimeName(config);
  const { startServer } = await import("./server.js");
  const withConsole = config.runtimeName === "process";
  const { consoleExtension } = withConsole
    ? await import("../console/extension.js")
    : { consoleExtension: undefined };
  const server = await startServer({ ...config, extend: consoleExtension });
  const log = jsonLogger(config.logLevel ?? "info");
  if (withConsole) {
    // a generated token is printed anyway; a configured one stays out of the logs
    const token = config.adminToken === undefined ? server.adminToken : "<admin token>";
    log.info(`console on ${server.url}/console/#token=${token}`, {
      console: `${server.url}/console/`,
    });
  }
  const stop = (sig: string) => {
    log.info("shutting down", { signal: sig }); // JSON like every other line of this log
    void server.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  return -1; // keep running
}

function tokenCommand(argv: string[]): number {
  let v: Record<string, string | boolean | undefined>;
  try {
    v = parseArgs({
      args: argv,
      options: {
        pod: { type: "string" },
        deployment: { type: "string" },
        cluster: { type: "string" },
        secret: { type: "string" },
        "secret-file": { type: "string" },
        "data-dir": { type: "string" },
        uid: { type: "string" },
        ttl: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`domeos-server token: ${(err as Error).message}\n\n${TOKEN_HELP}`);
    return 2;
  }
  const target = (v.pod ?? v.deployment) as string | undefined;
  if (v.help || !target) {
    process.stdout.write(TOKEN_HELP);
    return v.help ? 0 : 2;
  }
  const [ns, name] = target.split("/");
  if (!ns || !name) {
    process.stderr.write(`domeos-server token: ${JSON.stringify(target)} must be NAMESPACE/NAME\n`);
    return 2;
  }
  let secret: string;
  try {
    secret = tokenSecret(v);
  } catch (err) {
    process.stderr.write(`domeos-server token: ${(err as Error).message}\n`);
    return 2;
  }
  const cluster = (v.cluster as string | undefined) ?? "default";
  let expiresAt = 0;
  if (typeof v.ttl === "string") {
    try {
      expiresAt = Math.floor((Date.now() + duration(v.ttl, "flag --ttl")) / 1000);
    } catch (err) {
      process.stderr.write(`domeos-server token: ${(err as Error).message}\n`);
      return 2;
    }
  }
  if (v.pod && typeof v.uid !== "string")
    process.stderr.write(
      "domeos-server token: without --uid this is the legacy token bound to the pod's name only, accepted only with --allow-unauthenticated-agents\n",
    );
  const token = !v.pod
    ? mintDeploymentToken(secret, cluster, ns, name)
    : typeof v.uid === "string"
      ? mintInstanceToken(secret, cluster, ns, name, v.uid, expiresAt)
      : mintPodToken(secret, cluster, ns, name);
  process.stdout.write(`${token}\n`);
  return 0;
}

/**
 * The serving secret, as `serve` finds it: --secret, --secret-file,
 * DOMEOS_SECRET, then DATA_DIR/agent-secret. Never created here: a token
 * signed with a fresh secret would be accepted by no server.
 */
function tokenSecret(v: Record<string, string | boolean | undefined>): string {
  if (typeof v.secret === "string") return v.secret;
  if (typeof v["secret-file"] === "string") {
    const s = readSecretFile(v["secret-file"], "flag --secret-file");
    if (s === "") throw new Error(`flag --secret-file: ${v["secret-file"]} is empty`);
    return s;
  }
  const env = fromEnv(process.env);
  if (env.secret) return env.secret;
  const dataDir = completeConfig({
    dataDir: (v["data-dir"] as string | undefined) ?? env.dataDir,
  }).dataDir;
  const stored = readStoredSecret(dataDir);
  if (stored !== undefined) return stored;
  throw new Error(
    `no server secret: ${dataDir}/${SECRET_FILE} does not exist; pass the secret the server uses (--secret, --secret-file, DOMEOS_SECRET, or --data-dir of the server)`,
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`domeos-server: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
