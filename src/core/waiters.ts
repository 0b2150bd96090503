/**
 * Held long-poll requests, indexed by topic. Every waiter is removed on wake, timeout, abort or
 * shutdown, so abandoned polls leave nothing behind.
 *
 * Timeouts share timers: a waiter's deadline is rounded up to the next DEADLINE_SLOT_MS and one timer
 * per slot answers every waiter due in it, so 1,000 polls held together cost one timer, not 1,000
 * (a timer per request showed in the long-poll profile). A wait may run up to one slot longer than
 * asked, never shorter.
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
      on(event: 'close', listener: () => void): unknown;
      off(event: 'close', listener: () => void): unknown;
    };

export const DEADLINE_SLOT_MS = 50;

/** A held wait; `wake()` answers it with `data` now (the long poll's re-check found new messages). */
export class Waiter {
  /** set while the waiter is held; cleared exactly once by `WaiterRegistry.#finish` */
  held = true;
  slot = 0;
  cancellation: Cancellation | undefined;
  /** bound once, used for both `on` and `off` (no `once` wrapper per request) */
  readonly onCancel: () => void;

  constructor(
    readonly topic: string,
    readonly after: number,
    readonly done: (outcome: WaitOutcome) => void,
    readonly finish: (waiter: Waiter, outcome: WaitOutcome) => void,
  ) {
    this.onCancel = () => finish(this, 'aborted');
  }

  wake(): void {
    this.finish(this, 'data');
  }
}

export class WaiterRegistry {
  readonly #byTopic = new Map<string, Set<Waiter>>();
  readonly #bySlot = new Map<number, { waiters: Set<Waiter>; timer: NodeJS.Timeout }>();
  readonly #finishWaiter = (waiter: Waiter, outcome: WaitOutcome): void => this.#finish(waiter, outcome);
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
    let resolve!: (outcome: WaitOutcome) => void;
    const promise = new Promise<WaitOutcome>((settle) => {
      resolve = settle;
    });
    const waiter = this.hold(topic, after, timeoutMs, cancellation, resolve);
    return { promise, wake: () => waiter.wake() };
  }

  /**
   * `wait` with a callback instead of a promise (the long-poll path: no promise per held request).
   * `done` is called exactly once, possibly before `hold` returns (a caller already gone).
   */
  hold(
    topic: string,
    after: number,
    timeoutMs: number,
    cancellation: Cancellation | undefined,
    done: (outcome: WaitOutcome) => void,
  ): Waiter {
    const waiter = new Waiter(topic, after, done, this.#finishWaiter);
    let set = this.#byTopic.get(topic);
    if (!set) {
      set = new Set();
      this.#byTopic.set(topic, set);
    }
    set.add(waiter);
    this.#size++;
    this.#addToSlot(waiter, timeoutMs);
    if (cancellation) {
      if (isCancelled(cancellation)) this.#finish(waiter, 'aborted');
      else {
        waiter.cancellation = cancellation;
        if ('aborted' in cancellation) cancellation.addEventListener('abort', waiter.onCancel);
        else cancellation.on('close', waiter.onCancel);
      }
    }
    return waiter;
  }

  /** Wakes every waiter on `topic` whose cursor is behind `last`. */
  appended(topic: string, last: number): void {
    const set = this.#byTopic.get(topic);
    if (!set) return;
    for (const waiter of [...set]) if (waiter.after < last) this.#finish(waiter, 'data');
  }

  /** Answers every held request (graceful shutdown). */
  releaseAll(): void {
    for (const set of [...this.#byTopic.values()]) {
      for (const waiter of [...set]) this.#finish(waiter, 'shutdown');
    }
  }

  #addToSlot(waiter: Waiter, timeoutMs: number): void {
    const slot = Math.ceil((Date.now() + Math.max(0, timeoutMs)) / DEADLINE_SLOT_MS) * DEADLINE_SLOT_MS;
    waiter.slot = slot;
    let entry = this.#bySlot.get(slot);
    if (!entry) {
      const waiters = new Set<Waiter>();
      const timer = setTimeout(() => {
        this.#bySlot.delete(slot);
        for (const due of waiters) this.#finish(due, 'timeout');
      }, slot - Date.now());
      entry = { waiters, timer };
      this.#bySlot.set(slot, entry);
    }
    entry.waiters.add(waiter);
  }

  #finish(waiter: Waiter, outcome: WaitOutcome): void {
    if (!waiter.held) return;
    waiter.held = false;
    const set = this.#byTopic.get(waiter.topic);
    set?.delete(waiter);
    if (set?.size === 0) this.#byTopic.delete(waiter.topic);
    this.#size--;
    const entry = this.#bySlot.get(waiter.slot);
    if (entry && outcome !== 'timeout') {
      entry.waiters.delete(waiter);
      if (entry.waiters.size === 0) {
        clearTimeout(entry.timer);
        this.#bySlot.delete(waiter.slot);
      }
    }
    const cancellation = waiter.cancellation;
    if (cancellation) {
      waiter.cancellation = undefined;
      if ('aborted' in cancellation) cancellation.removeEventListener('abort', waiter.onCancel);
      else cancellation.off('close', waiter.onCancel);
    }
    waiter.done(outcome);
  }
}

function isCancelled(cancellation: Cancellation): boolean {
  return 'aborted' in cancellation ? cancellation.aborted : cancellation.destroyed === true;
}
