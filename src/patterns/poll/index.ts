/**
 * Short polling (`wait=0`, the default) and long polling (`wait=1..60`) over one route. A held
 * request is released the moment its client goes away. Plain requests usually take the fast path
 * (fast-path.ts) before fastify; this route answers everything else, with the same translation
 * (answer.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { FetchResult, Hub } from '../../core/hub.js';
import { fetchAnswerBody } from '../shared/fetch-json.js';
import {
  answerPoll,
  corkHeldAnswer,
  POLL_HEADERS,
  POLL_ROUTE,
  type PollQuery,
  pollRequest,
} from './answer.js';

export function registerPoll(app: FastifyInstance, hub: Hub): void {
  app.get<{ Params: { topic: string }; Querystring: PollQuery }>(POLL_ROUTE, async (request, reply) => {
    const poll = pollRequest(hub, request.query);
    const result = await new Promise<FetchResult>((resolve, reject) => {
      answerPoll(hub, request.params.topic, poll, reply.raw, (error, answer) => {
        if (answer === undefined) reject(error);
        else resolve(answer);
      });
    });
    if (poll.wait > 0 && result.messages.length > 0)
      app.metrics.delivered('longpoll', result.messages.length);
    corkHeldAnswer(poll, reply.raw.socket);
    // One Buffer per distinct answer, shared by every poll woken with the same cursor.
    return reply.headers(POLL_HEADERS).send(fetchAnswerBody(result));
  });
}
