// How one etcd watch stream behaves (watch.ts's StreamWatch): `created`
// settles when etcd confirms the watch; events go out one batch per
// revision; the stream ends once and reports why: before confirmation by
// rejecting `created`, after it through onError (EtcdWatch then resumes it
// on another endpoint or ends the watch).

import { CompactedError, type WatchEvent, type WatchHandlers } from "../store.js";
import { EtcdWatchCanceledError } from "./errors.js";

export abstract class WatchLifecycle {
  readonly created: Promise<void>;
  /** Called once when the watch ends (by stop() or by failure). */
  onEnd: () => void = () => {};
  protected ended = false;
  private established = false;
  private resolveCreated!: () => void;
  private rejectCreated!: (err: Error) => void;

  constructor(
    protected readonly handlers: WatchHandlers,
    /** "etcd <endpoints>: watch <prefix>", for error messages. */
    protected readonly where: string,
  ) {
    this.created = new Promise((resolve, reject) => {
      this.resolveCreated = resolve;
      this.rejectCreated = reject;
    });
  }

  /** Cancel the underlying stream (called once, from stop()). */
  protected abstract cancelStream(): void;

  readonly stop = (): void => {
    if (this.ended) return;
    this.ended = true;
    this.cancelStream();
    this.onEnd();
  };

  /**
   * One WatchResponse: its created/canceled flags and its events, given as
   * [revision, event] pairs in etcd's order.
   */
  protected onResponse(
    created: boolean,
    canceled: { compactRevision: number; reason: string } | null,
    events: Iterable<[number, WatchEvent]>,
  ): void {
    if (this.ended) return;
    if (created) {
      this.established = true;
      this.resolveCreated();
    }
    if (canceled) {
      this.fail(
        canceled.compactRevision > 0
          ? new CompactedError(canceled.compactRevision)
          : new EtcdWatchCanceledError(
              canceled.reason,
              `${this.where}: canceled: ${canceled.reason}`,
            ),
      );
      return;
    }
    // One response may span several revisions: deliver one batch per revision.
    let batch: WatchEvent[] = [];
    let rev = 0;
    for (const [r, ev] of events) {
      if (r !== rev && batch.length > 0) {
        this.deliver(batch, rev);
        batch = [];
      }
      rev = r;
      batch.push(ev);
    }
    if (batch.length > 0) this.deliver(batch, rev);
  }

  private deliver(events: WatchEvent[], revision: number): void {
    if (this.ended) return;
    try {
      this.handlers.onEvents(events, revision);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  protected fail(err: Error): void {
    if (this.ended) return;
    this.stop();
    if (this.established) this.handlers.onError(err);
    else this.rejectCreated(err);
  }
}
