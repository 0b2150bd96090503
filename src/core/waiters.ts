/**
 * Held long-poll requests, indexed by topic. Every waiter owns exactly one timer and is removed on
 * wake, timeout, abort or shutdown, so abandoned polls leave nothing behind.
 */
export type WaitOutcome = 'data' | 'timeout' | 'aborted' | 'shutdown';

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

  /** Resolves when the topic's last offset passes `after`, the time runs out, or `signal` aborts. */
  wait(
    topic: string,
    after: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): { promise: Promise<WaitOutcome>; wake: () => void } {
    let waiter!: Waiter;
    const promise = new Promise<WaitOutcome>((resolve) => {
      const onAbort = (): void => waiter.finish('aborted');
      waiter = {
        after,
        timer: setTimeout(() => waiter.finish('timeout'), timeoutMs),
        finish: (outcome) => {
          if (!this.#remove(topic, waiter)) return;
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
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
      if (signal?.aborted) waiter.finish('aborted');
      else signal?.addEventListener('abort', onAbort, { once: true });
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
