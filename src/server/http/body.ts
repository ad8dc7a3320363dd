// Bounded request bodies: a client can never make the server buffer more
// than `limit` bytes (413), and JSON errors name what was wrong (400).
import type { IncomingMessage } from "node:http";
import { badRequest, HttpError } from "./errors.js";

export const DEFAULT_BODY_LIMIT = 64 * 1024;

export function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) return Promise.reject(tooLarge(limit));
  // Plain events rather than `for await`: the async iterator costs more CPU
  // than the rest of a small report's handling.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop buffering; the handler answers 413 with connection: close and discards the rest.
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    // The client went away or was too slow (the server's request timeout
    // destroys the socket): the client's doing, answered 408 and logged as a
    // slow client, never as a server error.
    const incomplete = (cause?: Error) =>
      new HttpError(
        408,
        `the client did not send the whole body (${size} of ${Number.isFinite(declared) && declared > 0 ? declared : "?"} bytes) before the connection ended or the request timeout`,
        { connection: "close" },
        { cause },
      );
    const onError = (err: Error) => {
      cleanup();
      reject(incomplete(err));
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      reject(incomplete());
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
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
