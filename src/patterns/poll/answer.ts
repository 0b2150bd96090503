/**
 * The one translation of a poll request into hub calls, shared by the fastify route and the
 * long-poll fast path (fast-path.ts): parameters validated with the contract's rules, then a fetch
 * (`wait=0`) or a held fetch (`wait=1..60`). Answers are corked per event-loop turn: a wake-up
 * answers many held polls at once and their writes go out together.
 */
import type { Writable } from 'node:stream';
import type { Hub, PollCallback, WaitRequest } from '../../core/hub.js';
import { integerParam } from '../../core/validate.js';
import type { Cancellation } from '../../core/waiters.js';
import { TurnBatcher } from '../shared/turn-batcher.js';

export type PollQuery = { after?: unknown; limit?: unknown; wait?: unknown; epoch?: unknown };

export const POLL_ROUTE = '/v1/topics/:topic/messages';
export const POLL_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
};

/** A poll's parameters, as the hub's wait request (`signal` is set to the response when it is held). */
export interface PollRequest extends WaitRequest {
  after: number;
  limit: number;
  /** seconds, as asked (`waitMs` is the same in milliseconds) */
  wait: number;
  epoch: string | undefined;
}

/** Throws the contract's 400 for a bad parameter (see integerParam). */
export function pollRequest(hub: Hub, query: PollQuery): PollRequest {
  const { maxFetchLimit, maxWaitSeconds } = hub.options.limits;
  const wait = integerParam('wait', query.wait, { min: 0, max: maxWaitSeconds, fallback: 0 });
  return {
    after: integerParam('after', query.after, { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 }),
    limit: integerParam('limit', query.limit, { min: 1, max: maxFetchLimit, fallback: 100 }),
    wait,
    waitMs: wait * 1000,
    epoch: typeof query.epoch === 'string' ? query.epoch : undefined,
    signal: undefined,
    transport: 'longpoll',
  };
}

/**
 * Answers the poll through `done`: a fetch (`wait=0`) or a held fetch (`wait=1..60`), released the
 * moment `response` closes. Polls answered from one read with one cursor get one shared result.
 */
export function answerPoll(
  hub: Hub,
  topic: string,
  request: PollRequest,
  /** The response itself: its `close` releases a held request when the client goes away. */
  response: Cancellation,
  done: PollCallback,
): void {
  if (request.wait > 0) request.signal = response;
  hub.poll(topic, request, done);
}

const answers = new TurnBatcher();

/** Held answers of one turn leave together (one writev burst at the turn's end). */
export function corkHeldAnswer(request: PollRequest, socket: Writable | null | undefined): void {
  if (request.wait > 0 && socket) answers.cork(socket);
}
