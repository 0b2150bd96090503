/**
 * Held long-poll requests, indexed by topic. Every waiter owns exactly one timer and is removed on
 * wake, timeout, abort or shutdown, so abandoned polls leave nothing behind.
 */
export type WaitOutcome = 'data' | 'timeout' | 'aborted' | 'shutdown';

/**
 * What says "the caller went away": an AbortSignal (embedders), or anything that emits `close`
 * such as the HTTP response itself. Wires pass the response directly because an AbortController
 * per held request costs more than the rest of the long poll's bookkeeping together.
 */
export type Cancellation =
  | AbortSignal
  | {
      readonly destroyed?: boolean;
      once(event: 'close', listener: () => void): unknown;
      off(event: 'close', listener: () => void): unknown;
    };

/** Calls `listener` once when `cancellation` fires; returns the remover, or null when it already fired. */
function onCancel(cancellation: Cancellation, listener: () => void): (() => void) | null {
  if ('aborted' in cancellation) {
    if (cancellation.aborted) return null;
    cancellation.addEventListener('abort', listener, { once: true });
    return () => cancellation.removeEventListener('abort', listener);
  }
  if (cancellation.destroyed) return null;
  cancellation.once('close', listener);
  return () => cancellation.off('close', listener);
}

interface Waiter {
  after: number;
  timer: NodeJS.Timeout;
  finish: (outcome: WaitOutcome) => void;
}

export class WaiterRegistry {
  readonly #byTopic = new Map<string, Set<Waiter>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Resolves when the topic's last offset passes `after`, the time runs out, or the caller goes away. */
  wait(
    topic: string,
    after: number,
    timeoutMs: number,
    cancellation?: Cancellation,
  ): { promise: Promise<WaitOutcome>; wake: () => void } {
    let waiter!: Waiter;
    const promise = new Promise<WaitOutcome>((resolve) => {
      let stopListening: (() => void) | null = null;
      waiter = {
        after,
        timer: setTimeout(() => waiter.finish('timeout'), timeoutMs),
        finish: (outcome) => {
          if (!this.#remove(topic, waiter)) return;
          clearTimeout(waiter.timer);
          stopListening?.();
          resolve(outcome);
        },
      };
      let set = this.#byTopic.get(topic);
      if (!set) {
        set = new Set();
        this.#byTopic.set(topic, set);
      }
      set.add(waiter);
      this.#size++;
      if (cancellation) {
        stopListening = onCancel(cancellation, () => waiter.finish('aborted'));
        if (stopListening === null) waiter.finish('aborted');
      }
    });
    return { promise, wake: () => waiter.finish('data') };
  }

  /** Wakes every waiter on `topic` whose cursor is behind `last`. */
  appended(topic: string, last: number): void {
    const set = this.#byTopic.get(topic);
    if (!set) return;
    for (const waiter of [...set]) if (waiter.after < last) waiter.finish('data');
  }

  /** Answers every held request (graceful shutdown). */
  releaseAll(): void {
    for (const set of [...this.#byTopic.values()]) for (const waiter of [...set]) waiter.finish('shutdown');
  }

  #remove(topic: string, waiter: Waiter): boolean {
    const set = this.#byTopic.get(topic);
    if (!set?.delete(waiter)) return false;
    this.#size--;
    if (set.size === 0) this.#byTopic.delete(topic);
    return true;
  }
}
