// A DomeOS report endpoint in its own process, for the concurrency test:
// the test process is busy spawning hundreds of children and must not be
// the one answering them. Prints its port, then one line per report.

import { createServer } from "node:http";

const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => {
    body += c;
  });
  req.on("end", () => {
    if (!req.url?.endsWith("/annotation")) {
      res.statusCode = 404; // a server with only the original endpoint
      res.end("{}");
      return;
    }
    process.stdout.write(`${JSON.stringify({ url: req.url, body })}\n`);
    res.setHeader("Content-Type", "application/json");
    res.end('{"resultCode":200}');
  });
});
server.listen(0, "127.0.0.1", () => {
  const a = server.address();
  process.stdout.write(`${typeof a === "object" && a !== null ? a.port : 0}\n`);
});
