/**
 * Short polling (`wait=0`, the default) and long polling (`wait=1..60`) over one route. A held
 * request is released the moment its client goes away.
 */
import type { FastifyInstance } from 'fastify';
import type { Hub } from '../../core/hub.js';
import { integerParam } from '../../core/validate.js';
import { fetchAnswerBody } from '../shared/fetch-json.js';
import { TurnBatcher } from '../shared/turn-batcher.js';

type FetchQuery = { after?: string; limit?: string; wait?: string; epoch?: string };

const ANSWER_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function registerPoll(app: FastifyInstance, hub: Hub): void {
  const { maxFetchLimit, maxWaitSeconds } = hub.options.limits;
  const answers = new TurnBatcher();

  app.get<{ Params: { topic: string }; Querystring: FetchQuery }>(
    '/v1/topics/:topic/messages',
    async (request, reply) => {
      const after = integerParam('after', request.query.after, {
        min: 0,
        max: Number.MAX_SAFE_INTEGER,
        fallback: 0,
      });
      const limit = integerParam('limit', request.query.limit, { min: 1, max: maxFetchLimit, fallback: 100 });
      const wait = integerParam('wait', request.query.wait, { min: 0, max: maxWaitSeconds, fallback: 0 });
      const epoch = typeof request.query.epoch === 'string' ? request.query.epoch : undefined;
      let result: Awaited<ReturnType<Hub['fetch']>>;
      if (wait === 0) {
        result = await hub.fetch(request.params.topic, { after, limit, epoch });
      } else {
        // The response's own `close` releases the held request when the client goes away.
        result = await hub.fetchOrWait(request.params.topic, {
          after,
          limit,
          epoch,
          waitMs: wait * 1000,
          signal: reply.raw,
          transport: 'longpoll',
        });
        if (result.messages.length > 0) app.metrics.delivered('longpoll', result.messages.length);
      }
      // A wake-up answers many held polls in one turn: their writes go out together at its end.
      if (wait > 0 && reply.raw.socket) answers.cork(reply.raw.socket);
      // One Buffer per distinct answer, shared by every poll woken with the same cursor.
      return reply.headers(ANSWER_HEADERS).send(fetchAnswerBody(result));
    },
  );
}
