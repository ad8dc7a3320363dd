// How etcd3 client failures map onto the store's errors, and the fault
// policies that keep a call from hanging when etcd is down: one attempt per
// endpoint, no circuit breaker (which would turn a short outage into five
// seconds of refusals), and a per-call deadline set in etcd.ts.

import {
  ClientClosedError,
  EtcdLeaseInvalidError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  type IOptions,
  isRecoverableError,
} from "etcd3";
import { StoreUnavailableError } from "./store.js";

type Policy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;

const noEvent = () => ({ dispose() {} });

/** A policy that calls `fn`, retrying up to `retries` times on errors etcd3 calls recoverable. */
export function retryPolicy(retries: number): Policy {
  const policy = {
    onSuccess: noEvent,
    onFailure: noEvent,
    async execute<T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
      const signal = new AbortController().signal;
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn({ signal });
        } catch (err) {
          if (attempt >= retries || !(err instanceof Error) || !isRecoverableError(err)) throw err;
        }
      }
    },
  };
  // `_altReturn` is a type-only member of cockatiel's IPolicy ("will not actually be defined").
  return policy as unknown as Policy;
}

/** Is this a "cannot reach etcd" failure (as opposed to a bad request)? */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCCancelledError ||
    err instanceof ClientClosedError ||
    err instanceof StoreUnavailableError ||
    isRecoverableError(err) ||
    /ECONNREFUSED|ECONNRESET|No connection established|deadline|UNAVAILABLE/i.test(err.message)
  );
}

/** Convert a client error into what the Store interface promises. */
export function toStoreError(err: unknown, what: string, endpoints: string): Error {
  if (err instanceof StoreUnavailableError) return err;
  if (isUnavailable(err)) {
    return new StoreUnavailableError(
      `etcd ${endpoints}: ${what}: unavailable: ${(err as Error).message}`,
    );
  }
  if (err instanceof EtcdLeaseInvalidError) {
    return new Error(`etcd ${endpoints}: ${what}: lease not found (expired or revoked)`);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(`etcd ${endpoints}: ${what}: ${msg}`);
}

/** Reject with StoreUnavailableError when `p` takes longer than `ms` (streams have no deadline). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StoreUnavailableError(`${what}: no answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
