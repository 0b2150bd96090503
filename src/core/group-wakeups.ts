/**
 * Who is waiting on which consumer group, and what wakes them: a publish on the topic, or
 * something in the group becoming claimable again (a nack, a released member, a lease running
 * out — the last one by a timer, since nothing else happens at that moment).
 *
 * Held HTTP claims use the hub's `WaiterRegistry` (keyed per group, so a nack in one group does
 * not wake the claims of every other group on the topic); push members register listeners.
 */
import { WaiterRegistry, type WaitOutcome } from './waiters.js';

const keyOf = (topic: string, group: string): string => `${topic} ${group}`; // names have no spaces

export class GroupWakeups {
  readonly #waiters = new WaiterRegistry();
  /** topic → group → how many held claims and push members wait on it. */
  readonly #groupsByTopic = new Map<string, Map<string, number>>();
  readonly #listeners = new Map<string, Set<() => void>>();
  /** Bumped on every wake, so a claim can tell whether it missed one while it was running. */
  readonly #generations = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();

  get heldClaims(): number {
    return this.#waiters.size;
  }

  /** A publish: every group on the topic may have new offsets after its cursor. */
  appended(topic: string, last: number): void {
    const groups = this.#groupsByTopic.get(topic);
    if (!groups) return;
    for (const group of [...groups.keys()]) {
      const key = keyOf(topic, group);
      this.#waiters.appended(key, last);
      for (const listener of [...(this.#listeners.get(key) ?? [])]) listener();
    }
  }

  /** Something in the group is claimable now. */
  wake(topic: string, group: string): void {
    const key = keyOf(topic, group);
    this.#generations.set(key, this.generation(topic, group) + 1);
    this.#waiters.appended(key, Number.MAX_SAFE_INTEGER);
    for (const listener of [...(this.#listeners.get(key) ?? [])]) listener();
  }

  generation(topic: string, group: string): number {
    return this.#generations.get(keyOf(topic, group)) ?? 0;
  }

  /** Wakes the group at `at` (hub clock); one timer per group, kept for the earliest time asked. */
  wakeAt(topic: string, group: string, at: number, now: number): void {
    if (at <= now) {
      this.wake(topic, group);
      return;
    }
    const key = keyOf(topic, group);
    const existing = this.#timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    // +1 ms: timers may fire a hair early, and a claim at exactly `at` must find the entry due.
    const timer = setTimeout(
      () => {
        this.#timers.delete(key);
        this.wake(topic, group);
      },
      at - now + 1,
    );
    timer.unref();
    this.#timers.set(key, { at, timer });
  }

  /** Holds a claim until the topic passes `after`, the group is woken, time runs out, or abort. */
  wait(
    topic: string,
    group: string,
    after: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): { promise: Promise<WaitOutcome>; wake: () => void } {
    const leave = this.#join(topic, group);
    const held = this.#waiters.wait(keyOf(topic, group), after, timeoutMs, signal);
    return { promise: held.promise.finally(leave), wake: held.wake };
  }

  /** A push member's wake-up call; returns the function that stops it. */
  listen(topic: string, group: string, listener: () => void): () => void {
    const key = keyOf(topic, group);
    const leave = this.#join(topic, group);
    let listeners = this.#listeners.get(key);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(key, listeners);
    }
    listeners.add(listener);
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(key);
      leave();
    };
  }

  /** Shutdown: answers every held claim and stops the timers. */
  releaseAll(): void {
    this.#waiters.releaseAll();
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #join(topic: string, group: string): () => void {
    let groups = this.#groupsByTopic.get(topic);
    if (!groups) {
      groups = new Map();
      this.#groupsByTopic.set(topic, groups);
    }
    groups.set(group, (groups.get(group) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const current = this.#groupsByTopic.get(topic);
      const count = (current?.get(group) ?? 1) - 1;
      if (count > 0) current?.set(group, count);
      else current?.delete(group);
      if (current?.size === 0) this.#groupsByTopic.delete(topic);
    };
  }
}
