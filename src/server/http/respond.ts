// Responses in the DomeOS envelope {resultCode, resultMsg, result}, which the
// original agents parse (success = HTTP 200 AND resultCode 200).
import type { ServerResponse } from "node:http";

export interface Envelope {
  resultCode: number;
  resultMsg: string;
  result: unknown;
}

export function sendEnvelope(
  res: ServerResponse,
  status: number,
  msg: string,
  result: unknown = null,
  headers: Record<string, string> = {},
): void {
  const body: Envelope = { resultCode: status, resultMsg: msg, result };
  sendJson(res, status, body, headers);
}

export function sendOk(res: ServerResponse, result: unknown = null): void {
  sendEnvelope(res, 200, "OK", result);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = "text/plain; charset=utf-8",
): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}
