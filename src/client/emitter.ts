/** A tiny typed event emitter (no dependency, works in browsers and Node). */

type Listener<T> = (event: T) => void;

export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(name, listener);
  }

  off<K extends keyof Events>(name: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(name)?.delete(listener as Listener<never>);
  }

  listenerCount(name: keyof Events): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  /**
   * Calls each listener. A listener that throws must not break delivery to the others or the SDK's
   * own state, so its error is rethrown on a fresh task, where it reaches the usual global handler.
   */
  protected emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    // No copy per call (this runs once per delivered message); a Set iterates safely while
    // listeners remove themselves.
    for (const listener of set) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (error) {
        setTimeout(() => {
          throw error;
        }, 0);
      }
    }
  }
}
