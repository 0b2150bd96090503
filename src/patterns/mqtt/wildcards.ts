/**
 * Wildcard subscriptions learn of topics created after they were made: the engine's append signal
 * names the topic, and every session whose filter covers it starts following it. Indexed by filter,
 * so an append costs one match per distinct wildcard filter, not per session.
 */
import { matchTopicStrict } from '../../core/system-topics.js';
import type { MqttFilter } from './mapping.js';
import { parseFilter } from './mapping.js';

export interface WildcardListener {
  topicAppended(topic: string): void;
}

/** Whether an MQTT filter covers a Switchboard topic (wildcards never stand for reserved segments). */
export function coversTopic(filter: MqttFilter, topic: string): boolean {
  if (filter.exact !== undefined) return filter.exact === topic;
  return filter.parent === topic || matchTopicStrict(filter.pattern!, topic);
}

export class WildcardIndex {
  readonly #byFilter = new Map<string, { parsed: MqttFilter; listeners: Set<WildcardListener> }>();

  add(filter: string, listener: WildcardListener): void {
    let entry = this.#byFilter.get(filter);
    if (!entry) {
      const parsed = parseFilter(filter);
      if (!parsed) return;
      entry = { parsed, listeners: new Set() };
      this.#byFilter.set(filter, entry);
    }
    entry.listeners.add(listener);
  }

  remove(filter: string, listener: WildcardListener): void {
    const entry = this.#byFilter.get(filter);
    if (!entry) return;
    entry.listeners.delete(listener);
    if (entry.listeners.size === 0) this.#byFilter.delete(filter);
  }

  appended(topic: string): void {
    for (const { parsed, listeners } of this.#byFilter.values()) {
      if (!coversTopic(parsed, topic)) continue;
      for (const listener of listeners) listener.topicAppended(topic);
    }
  }

  get size(): number {
    return this.#byFilter.size;
  }
}
