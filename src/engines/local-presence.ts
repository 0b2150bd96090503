/**
 * Presence in process: the single-node engines' PresenceStore (see presence-store.ts). Its node is
 * the only node, and leaves are explicit, so records never expire here.
 */
import type { PresenceRecord, PresenceStore } from './presence-store.js';

export function createLocalPresenceStore(): PresenceStore {
  const byTopic = new Map<string, Map<string, PresenceRecord>>();
  return {
    async putPresence(records) {
      for (const record of records) {
        let topic = byTopic.get(record.topic);
        if (!topic) {
          topic = new Map();
          byTopic.set(record.topic, topic);
        }
        topic.set(record.id, record);
      }
    },
    async removePresence(topic, id) {
      const records = byTopic.get(topic);
      if (!records?.delete(id)) return;
      if (records.size === 0) byTopic.delete(topic);
    },
    async listPresence(topic) {
      return [...(byTopic.get(topic)?.values() ?? [])];
    },
    async expirePresence() {
      return [];
    },
  };
}
