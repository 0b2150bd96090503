/**
 * Consumer groups of a topic (members, committed, lag, pending, dead-lettered) and its dead letters,
 * each with a requeue button that publishes the original data to the original topic again.
 */
import { api, refusal, topicPath } from '../api.js';
import { button, byId, fillTable } from '../dom.js';
import type { Message } from '../sdk.js';

interface GroupState {
  group: string;
  committed: number;
  lag: number;
  pending: number;
  ready?: number;
  deadLettered?: number;
  members?: Array<{ member: string; pending?: number }>;
}

interface DeadLetter {
  topic: string;
  offset: number;
  group?: string;
  attempts?: number;
  error?: string;
  data: unknown;
}

export function startGroups(): () => Promise<void> {
  let topic: string | undefined;
  const notice = (text: string) => {
    byId('groups-notice').textContent = text;
  };

  const requeue = async (letter: DeadLetter): Promise<void> => {
    const answer = await api(`${topicPath(letter.topic)}/messages`, {
      method: 'POST',
      body: JSON.stringify({ data: letter.data }),
    });
    notice(
      answer.ok
        ? `requeued: offset ${letter.offset} of ${letter.topic} published again`
        : refusal(answer, 'Requeue'),
    );
  };

  const refresh = async (): Promise<void> => {
    if (topic === undefined) return;
    const groups = await api<{ groups: GroupState[] }>(`${topicPath(topic)}/groups`);
    if (!groups.ok) {
      notice(refusal(groups, `Reading the groups of ${topic}`));
      return;
    }
    notice('');
    fillTable(
      byId('groups'),
      groups.body.groups.map((g) => [
        g.group,
        (g.members ?? []).map((m) => `${m.member} (${m.pending ?? 0})`).join(', ') || '–',
        g.committed,
        g.lag,
        g.pending,
        g.ready ?? 0,
        g.deadLettered ?? 0,
      ]),
      `No consumer groups on ${topic}.`,
    );
    const dead = await api<{ messages: Message[] }>(
      `${topicPath(`${topic}.dead-letter`)}/messages?after=0&limit=100`,
    );
    byId('dead-title').textContent = `Dead letters of ${topic}`;
    const letters = dead.ok ? dead.body.messages : [];
    fillTable(
      byId('dead-letters'),
      letters.map((message) => {
        const letter = message.data as DeadLetter;
        return [
          letter.offset,
          letter.group ?? '–',
          letter.attempts ?? 0,
          letter.error ?? '',
          JSON.stringify(letter.data),
          button('Requeue', () => void requeue(letter), `Requeue offset ${letter.offset}`),
        ];
      }),
      dead.ok ? 'No dead letters.' : refusal(dead, 'Reading dead letters'),
    );
  };

  byId('groups-form').addEventListener('submit', (event) => {
    event.preventDefault();
    topic = (byId('groups-topic') as HTMLInputElement).value.trim();
    void refresh();
  });
  return refresh;
}
