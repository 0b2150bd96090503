/**
 * The one translation of a poll request into hub calls, shared by the fastify route and the
 * long-poll fast path (fast-path.ts): parameters validated with the contract's rules, then a fetch
 * (`wait=0`) or a held fetch (`wait=1..60`). Answers are corked per event-loop turn: a wake-up
 * answers many held polls at once and their writes go out together.
 */
import type { Writable } from 'node:stream';
import type { FetchResult, Hub } from '../../core/hub.js';
import { integerParam } from '../../core/validate.js';
import type { Cancellation } from '../../core/waiters.js';
import { TurnBatcher } from '../shared/turn-batcher.js';

export type PollQuery = { after?: unknown; limit?: unknown; wait?: unknown; epoch?: unknown };

export const POLL_ROUTE = '/v1/topics/:topic/messages';
export const POLL_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
};

export interface PollRequest {
  after: number;
  limit: number;
  wait: number;
  epoch: string | undefined;
}

/** Throws the contract's 400 for a bad parameter (see integerParam). */
export function pollRequest(hub: Hub, query: PollQuery): PollRequest {
  const { maxFetchLimit, maxWaitSeconds } = hub.options.limits;
  return {
    after: integerParam('after', query.after, { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 }),
    limit: integerParam('limit', query.limit, { min: 1, max: maxFetchLimit, fallback: 100 }),
    wait: integerParam('wait', query.wait, { min: 0, max: maxWaitSeconds, fallback: 0 }),
    epoch: typeof query.epoch === 'string' ? query.epoch : undefined,
  };
}

export function answerPoll(
  hub: Hub,
  topic: string,
  request: PollRequest,
  /** The response itself: its `close` releases a held request when the client goes away. */
  response: Cancellation,
): Promise<FetchResult> {
  const { after, limit, wait, epoch } = request;
  if (wait === 0) return hub.fetch(topic, { after, limit, epoch });
  return hub.fetchOrWait(topic, {
    after,
    limit,
    epoch,
    waitMs: wait * 1000,
    signal: response,
    transport: 'longpoll',
  });
}

const answers = new TurnBatcher();

/** Held answers of one turn leave together (one writev burst at the turn's end). */
export function corkHeldAnswer(request: PollRequest, socket: Writable | null | undefined): void {
  if (request.wait > 0 && socket) answers.cork(socket);
}
