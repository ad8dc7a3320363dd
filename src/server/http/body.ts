// Bounded request bodies: a client can never make the server buffer more
// than `limit` bytes (413), and JSON errors name what was wrong (400).
import type { IncomingMessage } from "node:http";
import { badRequest, HttpError } from "./errors.js";

export const DEFAULT_BODY_LIMIT = 64 * 1024;

export async function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body exceeds the ${limit}-byte limit`, {
    connection: "close",
  });
}

/** Parse a body that must be one JSON object. */
export function parseJsonObject(body: Buffer, what = "request body"): Record<string, unknown> {
  const text = body.toString("utf8");
  if (text.trim() === "") throw badRequest(`${what} is empty: expected a JSON object`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest(`${what} must be a JSON object, got ${jsonKind(value)}`);
  }
  return value as Record<string, unknown>;
}

export function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}
