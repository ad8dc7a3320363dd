// Admin endpoints (deployments) need `Authorization: Bearer <admin token>`.
import type { IncomingMessage } from "node:http";
import { forbidden, unauthorized } from "../http/errors.js";
import { bearerToken, tokensEqual } from "./pod-token.js";

export function requireAdmin(req: IncomingMessage, adminToken: string): void {
  const token = bearerToken(req.headers.authorization);
  if (token === null || token === "") {
    throw unauthorized(
      "admin endpoint: send Authorization: Bearer <admin token> (--admin-token / DOMEOS_ADMIN_TOKEN)",
    );
  }
  if (!tokensEqual(token, adminToken)) throw forbidden("admin endpoint: the admin token is wrong");
}
