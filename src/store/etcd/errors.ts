// The one mapping from what etcd and the HTTP/2 transport say to the
// store's errors. Every error keeps what caused it (`cause`), names the
// endpoints and the operation.
//
//   transport failure (refused, reset, keepalive ping unanswered, deadline)
//                                 -> StoreUnavailableError (retried on another endpoint)
//   gRPC UNAVAILABLE (14)         -> StoreUnavailableError (no leader, member stopped: retried)
//   gRPC DEADLINE_EXCEEDED (4), CANCELLED (1)
//                                 -> StoreUnavailableError (retried; the endpoint stays healthy)
//   "required revision has been compacted"
//                                 -> CompactedError
//   gRPC UNAUTHENTICATED (16) "invalid auth token"
//                                 -> the client authenticates again and retries once
//   any other status              -> EtcdStatusError (bad request, permission denied,
//                                    too many operations, ...; not retried)
//   an answer we cannot read (truncated, compressed, unknown wire type)
//                                 -> EtcdProtocolError (not retried)
//   a watch canceled by etcd for another reason than compaction
//                                 -> EtcdWatchCanceledError (the watch ends)

import { CompactedError, StoreUnavailableError } from "../store.js";

/** gRPC status codes. */
export const GRPC = {
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status from etcd that is not an outage (bad request, permission, too many ops, ...). */
export class EtcdStatusError extends Error {
  override name = "EtcdStatusError";
  constructor(
    /** The gRPC status code. */
    readonly code: number,
    /** etcd's own message ("etcdserver: too many operations in txn request"). */
    readonly etcdMessage: string,
    message: string,
  ) {
    super(message);
  }
}

/** An answer from etcd that is not what its protocol says (malformed, compressed, truncated). */
export class EtcdProtocolError extends Error {
  override name = "EtcdProtocolError";
}

/** etcd canceled a watch (not a compaction): permission denied, ... */
export class EtcdWatchCanceledError extends Error {
  override name = "EtcdWatchCanceledError";
  constructor(
    /** etcd's cancel_reason. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A failure of the connection to one endpoint (what the transport saw). */
export class EtcdTransportError extends Error {
  override name = "EtcdTransportError";
  constructor(
    readonly endpoint: string,
    message: string,
    /** true: the request may have reached etcd (a write may have been applied). */
    readonly maybeSent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message.startsWith(`${endpoint}: `) ? message : `${endpoint}: ${message}`, options);
  }
}

/** A gRPC status as etcd sends it (grpc-status, percent-encoded grpc-message). */
export interface GrpcStatus {
  code: number;
  message: string;
}

/** The gRPC status in response headers or trailers; null when they carry none. */
export function grpcStatusOf(h: Record<string, unknown>): GrpcStatus | null {
  if (h["grpc-status"] === undefined) return null;
  return {
    code: Number(h["grpc-status"]),
    message: decodeURIComponent(String(h["grpc-message"] ?? "")),
  };
}

/** Is a gRPC status one that says "this endpoint cannot serve now" (try another)? */
export function isRetriableStatus(code: number): boolean {
  return code === GRPC.UNAVAILABLE || code === GRPC.DEADLINE_EXCEEDED || code === GRPC.CANCELLED;
}

/** The error for a non-zero gRPC status of call `where` ("etcd <endpoints>: <what>"). */
export function statusError(
  code: number,
  etcdMessage: string,
  where: string,
  endpoint: string,
): Error {
  const msg = `${where}: ${etcdMessage} (gRPC ${code} from ${endpoint})`;
  if (/required revision has been compacted/.test(etcdMessage)) {
    return new CompactedError(0, msg);
  }
  if (isRetriableStatus(code)) return new StoreUnavailableError(msg);
  if (code === GRPC.NOT_FOUND && /lease not found/.test(etcdMessage)) {
    return new EtcdStatusError(code, etcdMessage, `${where}: lease not found (expired or revoked)`);
  }
  return new EtcdStatusError(code, etcdMessage, msg);
}

/** Is this "the token expired or the member forgot it" (authenticate again)? */
export function isInvalidToken(err: unknown): boolean {
  return (
    err instanceof EtcdStatusError &&
    err.code === GRPC.UNAUTHENTICATED &&
    /invalid auth token|token/i.test(err.etcdMessage)
  );
}

/** The store error for a call that failed on every endpoint it tried (or its deadline). */
export function unavailable(where: string, why: string, cause?: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`${where}: unavailable: ${why}`, { cause });
}
