// The deploy CLI's side of the admin API: bearer token, ?cluster= on every
// call, who is asking (X-DomeOS-User: $USER, recorded in revision history),
// errors as ApiError with the server's message.

/** The admin API path of one deployment. */
export function one(ns: string, name: string): string {
  return `/api/deployments/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
}

/** The command line is wrong (exit 2, with the help). */
export class UsageError extends Error {}

/** The server answered with an error status. */
export class ApiError extends Error {}

/** Why a request never got an answer, in words (fetch hides it in `cause`). */
export function connectionReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code;
  const words: Record<string, string> = {
    ECONNREFUSED: "connection refused (is domeos-server running there?)",
    ENOTFOUND: "unknown host",
    EAI_AGAIN: "host name lookup failed",
    ETIMEDOUT: "connection timed out",
    ECONNRESET: "connection reset by the server",
    EHOSTUNREACH: "host unreachable",
  };
  if (code && words[code]) return `${words[code]} [${code}]`;
  return cause?.message ?? (err as Error).message;
}

/** The admin API: bearer token, ?cluster= on every call, errors as ApiError. */
export class AdminClient {
  constructor(
    private readonly server: string,
    private readonly token: string,
    private readonly cluster: string | undefined,
    /** Who is asking, as the server records it in the revision history. */
    private readonly user?: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body);
    const text = await res.text();
    let parsed: { resultMsg?: string; result?: unknown } = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: shown as is below
    }
    if (!res.ok)
      throw new ApiError(
        `${method} ${path}: HTTP ${res.status}: ${parsed.resultMsg ?? text.trim()}`,
      );
    return parsed.result as T;
  }

  async text(path: string): Promise<string> {
    const res = await this.fetch("GET", path);
    const text = await res.text();
    if (!res.ok) throw new ApiError(`GET ${path}: HTTP ${res.status}: ${errorText(text)}`);
    return text;
  }

  /** Copy a streamed text answer to `out` as it arrives (logs -f). */
  async stream(path: string, out: (s: string) => void): Promise<void> {
    const res = await this.fetch("GET", path);
    if (!res.ok)
      throw new ApiError(`GET ${path}: HTTP ${res.status}: ${errorText(await res.text())}`);
    const decoder = new TextDecoder();
    for await (const chunk of res.body ?? [])
      out(decoder.decode(chunk as Uint8Array, { stream: true }));
    const rest = decoder.decode();
    if (rest) out(rest);
  }

  private fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const url = new URL(this.server + path);
    if (this.cluster) url.searchParams.set("cluster", this.cluster);
    return fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(this.user ? { "x-domeos-user": this.user } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
}

function errorText(text: string): string {
  try {
    return (JSON.parse(text) as { resultMsg?: string }).resultMsg ?? text.trim();
  } catch {
    return text.trim();
  }
}
