/** The request-reply tester: `POST /v1/topics/{topic}/requests?timeout=S`, showing the reply or why none came. */
import { api, parseData, refusal, topicPath } from '../api.js';
import { byId } from '../dom.js';

export function startRequests(): void {
  byId('request-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const topic = (byId('request-topic') as HTMLInputElement).value.trim();
    const timeout = (byId('request-timeout') as HTMLInputElement).value || '5';
    const data = parseData((byId('request-data') as HTMLTextAreaElement).value);
    const result = byId('request-result');
    result.textContent = `waiting up to ${timeout} s for a reply…`;
    const started = performance.now();
    const answer = await api<{ offset: number; reply: unknown }>(
      `${topicPath(topic)}/requests?timeout=${timeout}`,
      {
        method: 'POST',
        body: JSON.stringify({ data }),
      },
    );
    const ms = Math.round(performance.now() - started);
    result.textContent = answer.ok
      ? `reply after ${ms} ms (request at offset ${answer.body.offset}):\n${JSON.stringify(answer.body.reply, null, 2)}`
      : answer.status === 504
        ? `no reply within ${timeout} s: is a responder subscribed to ${topic}?`
        : refusal(answer, 'The request');
  });
}
