/** The topic list with subscriber and presence counts, refreshed every 2 s. */
import { api, refusal, topicPath } from '../api.js';
import { button, byId, fillTable } from '../dom.js';
import type { TopicStatsLike } from '../sdk.js';

/** Presence is asked for the first topics only: one request each. */
const PRESENCE_ROWS = 25;

export function startTopics(open: (topic: string) => void): () => Promise<void> {
  const refresh = async (): Promise<void> => {
    const answer = await api<{ topics: TopicStatsLike[] }>('/v1/topics');
    byId('topics-notice').textContent = answer.ok ? '' : refusal(answer, 'Listing topics');
    if (!answer.ok) return;
    const topics = answer.body.topics;
    const present = await Promise.all(
      topics.slice(0, PRESENCE_ROWS).map(async ({ topic }) => {
        const presence = await api<{ count: number }>(`${topicPath(topic)}/presence`);
        return presence.ok ? String(presence.body.count) : '–';
      }),
    );
    fillTable(
      byId('topics'),
      topics.map((topic, i) => [
        button(topic.topic, () => open(topic.topic), `Watch ${topic.topic}`),
        topic.last,
        topic.count,
        Object.values(topic.subscribers ?? {}).reduce((sum, n) => sum + n, 0),
        present[i] ?? '–',
      ]),
      'No topics yet: publish to create one.',
    );
  };
  return refresh;
}
