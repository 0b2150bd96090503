/**
 * Webhooks over HTTP (docs/webhooks.md): register per topic, list, inspect, delete. Starts the
 * delivery scheduler (and with it job callbacks) when the server starts, and stops it on close.
 * Only wire translation here; the rules live in `core/webhooks/`.
 */
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import type { Hub } from '../../core/hub.js';
import { createWebhooks, type Webhooks } from '../../core/webhooks/webhooks.js';
import { badRequest } from '../../protocol/errors.js';
import type { ServerConfig } from '../../server/config.js';
import { jsonObjectBody } from '../shared/body.js';

export type WebhooksPlugin = Webhooks;

declare module 'fastify' {
  interface FastifyInstance {
    /** Webhooks and job callbacks (set by registerWebhooks). */
    webhooks: Webhooks;
  }
}

export async function registerWebhooks(
  app: FastifyInstance,
  hub: Hub,
  config: ServerConfig,
): Promise<Webhooks> {
  const outcomes = new Counter({
    name: 'switchboard_webhook_deliveries_total',
    help: 'Webhook and job callback delivery attempts by outcome (delivered, failed, dead_lettered)',
    labelNames: ['outcome'],
    registers: [app.metrics.registry],
  });
  const log = app.log.child({ module: 'webhooks' });
  const webhooks = createWebhooks({
    hub,
    allowPrivate: config.allowPrivateWebhooks,
    callbackSecret: config.callbackSecret,
    retryScheduleMs: config.webhookRetryScheduleMs,
    timeoutMs: config.webhookTimeoutMs,
    onOutcome: (outcome) => outcomes.inc({ outcome }),
    onError: (error, record) =>
      log.warn({ err: error, webhook: record.id }, 'webhook delivery step failed; retrying'),
  });
  await webhooks.start();
  if (webhooks.callbackSecret.generated) {
    log.info('generated the job callback secret (kept in the engine; shown by `switchboard serve` once)');
  }
  app.decorate('webhooks', webhooks);
  app.addHook('preClose', async () => {
    await webhooks.stop();
  });

  app.post<{ Params: { topic: string } }>('/v1/topics/:topic/webhooks', async (request, reply) => {
    const body = jsonObjectBody(request.body);
    for (const key of Object.keys(body)) {
      if (key !== 'url' && key !== 'secret') throw badField(key);
    }
    const created = await webhooks.register(request.params.topic, body);
    return reply.code(201).header('location', `/v1/webhooks/${created.id}`).send(created);
  });

  app.get('/v1/webhooks', async () => ({ webhooks: await webhooks.list() }));

  app.get<{ Params: { id: string } }>('/v1/webhooks/:id', async (request) => webhooks.get(request.params.id));

  app.delete<{ Params: { id: string } }>('/v1/webhooks/:id', async (request, reply) => {
    await webhooks.delete(request.params.id);
    return reply.code(204).send();
  });

  return webhooks;
}

function badField(key: string) {
  return badRequest(`unknown field "${key}"; send {"url":"https://…", "secret"?:"whsec_…"}`);
}
