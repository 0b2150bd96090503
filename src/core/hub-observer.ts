/**
 * What the hub reports as it works, for metrics. Optional and synchronous: an observer must be
 * cheap and must not throw (it runs on the publish path).
 */
export interface HubObserver {
  /** `count` new messages were stored on `topic` (duplicates of an idempotency key not included). */
  published?(topic: string, count: number): void;
  /** An engine call (`what` is the hub's phrase, e.g. "read", "store the message") took `seconds`. */
  engineOp?(what: string, seconds: number, ok: boolean): void;
  /** A request (request-reply) ended: replied, timeout, abandoned (caller left) or failed. */
  requestEnded?(outcome: 'replied' | 'timeout' | 'abandoned' | 'failed'): void;
}
