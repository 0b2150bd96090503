/** Delayed delivery's HTTP calls for the client SDK: list a topic's pending schedules, cancel one. */
import type { ScheduledMessageView } from '../protocol/schedule.js';
import type { HttpClient } from './http.js';

export async function listScheduled(
  http: HttpClient,
  topic: string,
  limit?: number,
): Promise<ScheduledMessageView[]> {
  const answer = await http.json<{ scheduled: ScheduledMessageView[] }>('/v1/scheduled', {
    query: { topic, limit },
  });
  return answer.body.scheduled;
}

export async function cancelScheduled(http: HttpClient, id: string): Promise<void> {
  await http.json(`/v1/scheduled/${encodeURIComponent(id)}`, { method: 'DELETE' });
}
