/** Webhooks (admin only): state, counts, backlog, last error, delete; and one push subscription. */
import { api, refusal } from '../api.js';
import { button, byId, fillTable } from '../dom.js';

interface WebhookState {
  id: string;
  topic: string;
  url: string;
  state: string;
  delivered: number;
  failed: number;
  backlog: number;
  lastError?: string | null;
}

export function startWebhooks(): () => Promise<void> {
  const notice = (text: string) => {
    byId('webhooks-notice').textContent = text;
  };
  const refresh = async (): Promise<void> => {
    const answer = await api<{ webhooks: WebhookState[] }>('/v1/webhooks');
    if (!answer.ok) {
      notice(refusal(answer, 'The webhooks view'));
      fillTable(byId('webhooks'), [], 'Not available with this token.');
      return;
    }
    notice('');
    fillTable(
      byId('webhooks'),
      answer.body.webhooks.map((hook) => [
        hook.topic,
        hook.url,
        hook.state,
        hook.delivered,
        hook.failed,
        hook.backlog,
        hook.lastError ?? '',
        button('Delete', () => void remove(hook.id), `Delete webhook ${hook.id}`),
      ]),
      'No webhooks: POST /v1/topics/{topic}/webhooks registers one.',
    );
  };
  const remove = async (id: string): Promise<void> => {
    const answer = await api(`/v1/webhooks/${encodeURIComponent(id)}`, { method: 'DELETE' });
    await refresh();
    notice(answer.ok ? `deleted webhook ${id}` : refusal(answer, 'Deleting the webhook'));
  };
  byId('push-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const id = (byId('push-id') as HTMLInputElement).value.trim();
    const answer = await api(`/v1/push-subscriptions/${encodeURIComponent(id)}`);
    byId('push-json').textContent = answer.ok
      ? JSON.stringify(answer.body, null, 2)
      : refusal(answer, 'Reading the push subscription');
  });
  return refresh;
}
