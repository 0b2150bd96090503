/**
 * Web Push over HTTP (docs/push.md): the VAPID public key, registering a browser's push
 * subscription on a topic, inspecting and deleting it. Starts push delivery when the server starts
 * and stops it on close. Only wire translation here; the rules live in `core/push/`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import type { Hub } from '../../core/hub.js';
import { createPush, type Push } from '../../core/push/push.js';
import type { ServerConfig } from '../../server/config.js';
import { jsonObjectBody } from '../shared/body.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Web Push (set by registerPush). */
    push: Push;
  }
}

/** A PushSubscription is a few hundred bytes; nothing near this is a real one. */
const MAX_REGISTRATION_BYTES = 16_384;

type IdParams = { Params: { id: string } };

export async function registerPush(app: FastifyInstance, hub: Hub, config: ServerConfig): Promise<Push> {
  const outcomes = new Counter({
    name: 'switchboard_push_deliveries_total',
    help: 'Web Push delivery attempts by outcome (delivered, failed, dead_lettered, removed)',
    labelNames: ['outcome'],
    registers: [app.metrics.registry],
  });
  const log = app.log.child({ module: 'push' });
  const push = createPush({
    hub,
    allowPrivate: config.allowPrivateWebhooks,
    retryScheduleMs: config.pushRetryScheduleMs,
    timeoutMs: config.webhookTimeoutMs,
    vapidKeys:
      config.vapidPublicKey && config.vapidPrivateKey
        ? { publicKey: config.vapidPublicKey, privateKey: config.vapidPrivateKey }
        : undefined,
    vapidSubject: config.vapidSubject,
    onOutcome: (outcome) => outcomes.inc({ outcome }),
    // The record holds the endpoint and keys: log its id only.
    onError: (error, record) =>
      log.warn({ err: error, pushSubscription: record.id }, 'push delivery step failed; retrying'),
  });
  const { generated } = await push.start();
  if (generated) log.info('generated the VAPID key pair (kept in the engine)');
  app.decorate('push', push);
  app.addHook('preClose', async () => {
    await push.stop();
  });

  /** Reads the subscription and checks the caller may subscribe to its topic. */
  const authorized = async (request: FastifyRequest<IdParams>) => {
    const record = await push.find(request.params.id);
    if (request.principal) app.security.auth.authorize(request.principal, 'subscribe', record.topic);
    return record;
  };

  app.get('/v1/push/vapid-public-key', async () => ({ publicKey: push.publicKey }));

  app.post<{ Params: { topic: string } }>(
    '/v1/topics/:topic/push-subscriptions',
    { bodyLimit: MAX_REGISTRATION_BYTES },
    async (request, reply) => {
      const created = await push.register(request.params.topic, jsonObjectBody(request.body));
      return reply.code(201).header('location', `/v1/push-subscriptions/${created.id}`).send(created);
    },
  );

  app.get<IdParams>('/v1/push-subscriptions/:id', async (request) => push.state(await authorized(request)));

  app.delete<IdParams>('/v1/push-subscriptions/:id', async (request, reply) => {
    await push.delete(await authorized(request));
    return reply.code(204).send();
  });

  return push;
}
