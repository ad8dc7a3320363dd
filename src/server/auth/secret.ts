// The HMAC secret behind pod credentials. Generated once and kept in the
// data directory (mode 0600) so tokens injected into running pods stay valid
// across server restarts; replicas must share it (--secret / DOMEOS_SECRET).
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SECRET_FILE = "agent-secret";

export function loadOrCreateSecret(dataDir: string): {
  secret: string;
  created: boolean;
  path: string;
} {
  const path = join(dataDir, SECRET_FILE);
  try {
    const s = readFileSync(path, "utf8").trim();
    if (s.length >= 32) return { secret: s, created: false, path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("hex");
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return { secret, created: true, path };
}

export function randomToken(): string {
  return randomBytes(24).toString("base64url");
}
