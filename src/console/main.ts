/**
 * The web console (`GET /`): topics with live counts, a live view of one topic, a publish form,
 * and the patterns view (patterns.ts). It uses the same SDK bundle users load from `/client.js`.
 */

import { byId, el, setUpTabs, storedToken, TOKEN_KEY } from './dom.js';
import { startPatterns } from './patterns.js';
import { connect, type Message, type Subscription, type TopicStatsLike } from './sdk.js';

const LIVE_HISTORY = 50;
const MAX_LINES = 200;

const client = connect(location.origin, { token: storedToken() });
const status = byId('connection');
client.on('state', (event) => {
  status.dataset.state = event.state;
  const via = event.transport === undefined ? '' : ` (${event.transport})`;
  const retry = event.delayMs === undefined ? '' : `, next try in ${(event.delayMs / 1000).toFixed(1)} s`;
  status.textContent = `${event.state}${via}${retry}`;
});

let watching: Subscription | undefined;

function watch(topic: string): void {
  watching?.unsubscribe();
  const list = byId('messages');
  list.replaceChildren();
  byId('live-title').textContent = `Live messages: ${topic}`;
  (byId('publish-topic') as HTMLInputElement).value = topic;
  // Show the last few messages, then everything new.
  void client.fetch(topic, { after: 0, limit: 1 }).then(
    (head) => {
      watching = client.subscribe(topic, { after: Math.max(0, head.last - LIVE_HISTORY), onMessage: show });
    },
    (error: Error) => list.append(el('li', `cannot watch ${topic}: ${error.message}`, { class: 'notice' })),
  );
}

function show(message: Message): void {
  const list = byId('messages');
  const event = message.event === undefined ? '' : ` ${message.event}`;
  const time = new Date(message.time).toLocaleTimeString();
  list.append(el('li', `#${message.offset}${event} ${time} ${JSON.stringify(message.data)}`));
  while (list.childElementCount > MAX_LINES) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
}

async function refreshTopics(): Promise<void> {
  const headers: Record<string, string> = {};
  const token = storedToken();
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch('/v1/topics', { headers });
  if (!response.ok) return;
  const { topics } = (await response.json()) as { topics: TopicStatsLike[] };
  const rows = topics.map((topic) => {
    const row = el('tr');
    const name = el('td');
    const button = el('button', topic.topic, { type: 'button', 'aria-label': `Watch ${topic.topic}` });
    button.addEventListener('click', () => watch(topic.topic));
    name.append(button);
    const subscribers = Object.values(topic.subscribers ?? {}).reduce((sum, n) => sum + n, 0);
    row.append(
      name,
      el('td', String(topic.last), { class: 'number' }),
      el('td', String(topic.count), { class: 'number' }),
      el('td', String(subscribers), { class: 'number' }),
    );
    return row;
  });
  byId('topics')
    .querySelector('tbody')!
    .replaceChildren(...rows);
}

function setUpForms(): void {
  byId('watch-form').addEventListener('submit', (event) => {
    event.preventDefault();
    watch((byId('watch-topic') as HTMLInputElement).value.trim());
  });
  byId('publish-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const topic = (byId('publish-topic') as HTMLInputElement).value.trim();
    const name = (byId('publish-event') as HTMLInputElement).value.trim();
    const text = (byId('publish-data') as HTMLTextAreaElement).value;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = text; // not JSON: published as a string, like `Content-Type: text/plain`
    }
    const result = byId('publish-result');
    try {
      const answer = await client.publish(topic, data, name === '' ? {} : { event: name });
      result.textContent = `published to ${answer.topic} at offset ${answer.offset}`;
      if (watching?.topic !== topic) watch(topic);
    } catch (error) {
      result.textContent = `not published: ${(error as Error).message}`;
    }
  });
  byId('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, (byId('token') as HTMLInputElement).value.trim());
    location.reload(); // every client picks the token up at connect time
  });
}

setUpForms();
setUpTabs([byId('tab-topics'), byId('tab-patterns')], () => {});
startPatterns(connect);
void refreshTopics();
setInterval(() => void refreshTopics().catch(() => {}), 2_000);
