#!/usr/bin/env node
// A tiny HTTP app for the host-network demo. domeize renders config.json
// from config.json.tmpl (AUTO_PORT0 = the port the server allocated for
// this replica) before this starts; every response names the replica, so
// you can see nginx spread requests over all of them.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const configPath = process.argv[2] ?? "config.json";
let config;
try {
  config = JSON.parse(readFileSync(configPath, "utf8"));
} catch (err) {
  process.stderr.write(`demo-app: cannot read ${configPath}: ${err.message}\n`);
  process.exit(1);
}
const port = Number(config.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(
    `demo-app: ${configPath}: "port" must be a port number, got ${config.port}\n`,
  );
  process.exit(1);
}

const server = createServer((req, res) => {
  // DEMO_VERSION (when set) tells which revision answered: a rollout's answers switch
  const version = process.env.DEMO_VERSION ? { version: process.env.DEMO_VERSION } : {};
  const body = `${JSON.stringify({ replica: config.name, port, pid: process.pid, path: req.url, ...version })}\n`;
  res.writeHead(200, { "content-type": "application/json", "x-replica": String(config.name) });
  res.end(body);
});
// Idle keep-alive connections stay open longer than nginx keeps them
// (upstream keepalive_timeout 10s in examples/confd*): the side that closes an
// idle connection must be nginx, or a request nginx sends on it just as the
// app closes it fails (a POST is not retried: 502). Node's default is 5 s.
// The same holds across a hang: after SIGCONT the app must not time out the
// connections nginx used meanwhile before it reads their requests.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 76_000; // above keepAliveTimeout, as Node requires for kept-alive sockets
server.listen(port, config.host ?? "0.0.0.0", () => {
  process.stdout.write(`demo-app ${config.name} listening on ${port}\n`);
});

// exit promptly and cleanly on the runtime's SIGTERM
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    process.stdout.write(`demo-app ${config.name}: ${sig}, closing\n`);
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
