import type { AppendedListener } from './engine.js';

/** The in-process fan-out of append signals shared by the single-node engines. */
export class AppendedSignal {
  readonly #listeners = new Set<AppendedListener>();

  add(listener: AppendedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(topic: string, last: number): void {
    for (const listener of this.#listeners) listener(topic, last);
  }
}
