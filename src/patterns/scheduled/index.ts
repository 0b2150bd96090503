/**
 * Delayed delivery over HTTP (docs/delayed.md): list a topic's pending schedules, read one, cancel
 * one. Scheduling itself is a publish with `delayMs`/`deliverAt` (patterns/rest). Routes named by a
 * schedule id carry no topic in the URL, so route-rules.ts asks for a valid token there and this
 * plugin checks the schedule's topic once it has read it: `subscribe` to read, `publish` to cancel.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Capability } from '../../core/auth.js';
import type { Hub } from '../../core/hub.js';
import { scheduledJson } from '../../core/schedule-rules.js';
import { MAX_LIST } from '../../core/schedules.js';
import { assertTopic, integerParam } from '../../core/validate.js';
import { badRequest } from '../../protocol/errors.js';

type IdParams = { id: string };

const sendJson = (reply: FastifyReply, status: number, text: string) =>
  reply.code(status).type('application/json; charset=utf-8').header('cache-control', 'no-store').send(text);

export function registerScheduled(app: FastifyInstance, hub: Hub): void {
  const authorized = async (request: FastifyRequest<{ Params: IdParams }>, capability: Capability) => {
    const message = await hub.schedules.get(request.params.id);
    if (request.principal) app.security.auth.authorize(request.principal, capability, message.topic);
    return message;
  };

  app.get<{ Querystring: { topic?: string | string[]; limit?: string } }>(
    '/v1/scheduled',
    async (request, reply) => {
      const { topic } = request.query;
      if (topic === undefined) throw badRequest('topic is required: GET /v1/scheduled?topic=<topic>');
      if (Array.isArray(topic)) throw badRequest('topic was given more than once; list one topic at a time');
      assertTopic(topic);
      const limit = integerParam('limit', request.query.limit, { min: 1, max: MAX_LIST, fallback: 100 });
      const pending = await hub.schedules.list(topic, limit);
      return sendJson(
        reply,
        200,
        `{"topic":${JSON.stringify(topic)},"scheduled":[${pending.map(scheduledJson).join(',')}]}`,
      );
    },
  );

  app.get<{ Params: IdParams }>('/v1/scheduled/:id', async (request, reply) =>
    sendJson(reply, 200, scheduledJson(await authorized(request, 'subscribe'))),
  );

  app.delete<{ Params: IdParams }>('/v1/scheduled/:id', async (request, reply) => {
    const message = await authorized(request, 'publish');
    await hub.schedules.cancel(message.id);
    return reply.code(204).send();
  });
}
