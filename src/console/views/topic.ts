/**
 * One topic: the live tail (the last messages, then everything new; gaps and resets said in words),
 * history pages through `GET …/messages`, and the publish form.
 */
import { api, parseData, topicPath } from '../api.js';
import { byId, el } from '../dom.js';
import type { Message, Subscription, SwitchboardClient } from '../sdk.js';

const LIVE_HISTORY = 50;
const MAX_LINES = 200;
const PAGE = 20;

interface Page {
  messages: Message[];
  first: number;
  last: number;
  next: number;
  gap: boolean;
}

export function createTopicView(client: SwitchboardClient) {
  let watching: Subscription | undefined;
  let current: string | undefined;
  /** The offset the history page starts after. */
  let pageAfter = 0;

  const line = (message: Message): HTMLLIElement => {
    const event = message.event === undefined ? '' : ` ${message.event}`;
    const time = new Date(message.time).toLocaleTimeString();
    return el('li', `#${message.offset}${event} ${time} ${JSON.stringify(message.data)}`);
  };

  const show = (message: Message): void => {
    const list = byId('messages');
    list.append(line(message));
    while (list.childElementCount > MAX_LINES) list.firstElementChild?.remove();
    list.scrollTop = list.scrollHeight;
  };

  const notice = (text: string): void => {
    byId('live-notice').textContent = text;
  };

  async function loadHistory(after: number): Promise<void> {
    if (current === undefined) return;
    const answer = await api<Page>(`${topicPath(current)}/messages?after=${after}&limit=${PAGE}`);
    const list = byId('history');
    if (!answer.ok) {
      list.replaceChildren(el('li', `cannot read history: ${answer.error}`, { class: 'notice' }));
      return;
    }
    const page = answer.body;
    pageAfter = Math.max(0, after);
    list.replaceChildren(...page.messages.map(line));
    const shown =
      page.messages.length === 0
        ? 'no messages here'
        : `offsets ${page.messages[0]!.offset}–${page.messages.at(-1)!.offset}`;
    const gap = page.gap ? ' (older messages were removed by retention)' : '';
    byId('history-range').textContent = `${shown} of ${page.first}–${page.last}${gap}`;
  }

  function open(topic: string): void {
    watching?.unsubscribe();
    current = topic;
    byId('messages').replaceChildren();
    notice('');
    byId('live-title').textContent = `Live messages: ${topic}`;
    (byId('publish-topic') as HTMLInputElement).value = topic;
    void client.fetch(topic, { after: 0, limit: 1 }).then(
      (head) => {
        const subscription = client.subscribe(topic, {
          after: Math.max(0, head.last - LIVE_HISTORY),
          onMessage: show,
        });
        subscription.on('gap', (gap) =>
          notice(`gap: messages after ${gap.after} up to ${gap.next} were removed by retention`),
        );
        subscription.on('reset', () =>
          notice('reset: the log was recreated (new epoch); showing it from the start'),
        );
        watching = subscription;
        void loadHistory(Math.max(0, head.last - PAGE));
      },
      (error: Error) => notice(`cannot open ${topic}: ${error.message}`),
    );
  }

  byId('history-older').addEventListener('click', () => void loadHistory(Math.max(0, pageAfter - PAGE)));
  byId('history-newer').addEventListener('click', () => void loadHistory(pageAfter + PAGE));
  byId('watch-form').addEventListener('submit', (event) => {
    event.preventDefault();
    open((byId('watch-topic') as HTMLInputElement).value.trim());
  });
  byId('publish-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const topic = (byId('publish-topic') as HTMLInputElement).value.trim();
    const name = (byId('publish-event') as HTMLInputElement).value.trim();
    const data = parseData((byId('publish-data') as HTMLTextAreaElement).value);
    const result = byId('publish-result');
    try {
      const answer = await client.publish(topic, data, name === '' ? {} : { event: name });
      result.textContent = `published to ${answer.topic} at offset ${answer.offset}`;
      if (current !== topic) open(topic);
    } catch (error) {
      result.textContent = `not published: ${(error as Error).message}`;
    }
  });

  return { open };
}
