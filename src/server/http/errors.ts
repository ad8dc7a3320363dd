// One error type for every request failure: the HTTP status doubles as the
// DomeOS `resultCode`, and the message names the input that was wrong.

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers, e.g. WWW-Authenticate on 401. */
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const badRequest = (msg: string) => new HttpError(400, msg);
export const notFound = (msg: string) => new HttpError(404, msg);
export const forbidden = (msg: string) => new HttpError(403, msg);
export const unauthorized = (msg: string) =>
  new HttpError(401, msg, { "www-authenticate": 'Bearer realm="domeos"' });
export const conflict = (msg: string) => new HttpError(409, msg);
export const unavailable = (msg: string) => new HttpError(503, msg, { "retry-after": "1" });
