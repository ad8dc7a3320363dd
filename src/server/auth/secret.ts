// The HMAC secret behind pod credentials. Generated once and kept in the
// data directory (mode 0600) so tokens injected into running pods stay valid
// across server restarts; replicas must share it (--secret / DOMEOS_SECRET).
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SECRET_FILE = "agent-secret";

/** The secret a server keeps in its data directory, or undefined when there is none (yet). */
export function readStoredSecret(dataDir: string): string | undefined {
  try {
    const s = readFileSync(join(dataDir, SECRET_FILE), "utf8").trim();
    return s.length >= 32 ? s : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export function loadOrCreateSecret(dataDir: string): {
  secret: string;
  created: boolean;
  path: string;
} {
  const path = join(dataDir, SECRET_FILE);
  const stored = readStoredSecret(dataDir);
  if (stored !== undefined) return { secret: stored, created: false, path };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("hex");
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return { secret, created: true, path };
}

export function randomToken(): string {
  return randomBytes(24).toString("base64url");
}
