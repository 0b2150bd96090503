/**
 * What each field does, in hub calls only: the same calls (and the same authorize() checks and
 * publish rate) the REST, SSE and jobs routes make. Subscriptions read the shared per-topic feed.
 * Nothing here decides a rule of its own: names, limits, retention and system topics are the core's.
 */
import { type Authenticator, type Principal, scheduleExpiry } from '../../core/auth.js';
import type { Hub } from '../../core/hub.js';
import { statusTopic } from '../../core/jobs/job-rules.js';
import type { Jobs } from '../../core/jobs/jobs.js';
import { type RateLimiter, rateKey } from '../../core/rate-limit.js';
import type { StoredMessage } from '../../engines/engine.js';
import type { JobRecord } from '../../engines/job-store.js';
import { badRequest, isSwitchboardError, unauthorized } from '../../protocol/errors.js';
import { jsonDepth } from '../../protocol/json.js';
import { MAX_JSON_DEPTH } from '../../protocol/message.js';
import { type FeedEvent, FeedQueue, isMessage } from './event-queue.js';
import { JobEvents, type JobView, jobView } from './job-events.js';

export interface GraphqlDeps {
  hub: Hub;
  jobs: Jobs;
  auth: Authenticator;
  publishRate: RateLimiter;
  /** Most events a subscription holds unread before it is ended as a slow consumer. */
  maxQueuedEvents: number;
}

/** Per operation: who asks, from where (the publish rate counts per token `sub`, else per address). */
export interface GraphqlContext {
  principal: Principal;
  address: string;
}

type Args = Record<string, unknown>;
type Resolver = (source: unknown, args: Args, context: GraphqlContext) => unknown;
export interface FieldResolvers {
  [field: string]: Resolver | { subscribe: Resolver; resolve: Resolver };
}

const EXPIRED = 'token expired; subscribe again with a fresh token, after the last offset you received';

export function createResolvers(
  deps: GraphqlDeps,
): Record<'Query' | 'Mutation' | 'Subscription', FieldResolvers> {
  const { hub, jobs, auth, publishRate } = deps;
  const { maxFetchLimit } = hub.options.limits;

  const readJob = async (id: unknown, context: GraphqlContext): Promise<JobRecord> => {
    const job = await jobs.read(id);
    auth.authorize(context.principal, 'subscribe', job.queue);
    return job;
  };

  return {
    Query: {
      async topics(_source, _args, { principal }) {
        const topics = await hub.topics();
        if (auth.mode === 'open') return topics;
        return topics.filter(
          (t) => auth.allows(principal, 'subscribe', t.topic) || auth.allows(principal, 'publish', t.topic),
        );
      },
      async topic(_source, { topic }, { principal }) {
        auth.authorize(principal, 'subscribe', topic as string);
        return orNullWhenMissing(hub.topic(topic as string));
      },
      async messages(_source, args, { principal }) {
        const topic = args.topic as string;
        auth.authorize(principal, 'subscribe', topic);
        const after = offsetArg('after', args.after) ?? 0;
        const limit = args.limit ?? 100;
        if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > maxFetchLimit) {
          throw badRequest(`limit must be a whole number from 1 to ${maxFetchLimit}`);
        }
        const epoch = (args.epoch ?? undefined) as string | undefined;
        return hub.fetch(topic, { after, limit: limit as number, epoch });
      },
      async job(_source, { id }, context) {
        const job = await orNullWhenMissing(readJob(id, context));
        return job === null ? null : jobView(job);
      },
    },

    Mutation: {
      async publish(_source, args, { principal, address }) {
        const topic = args.topic as string;
        auth.authorize(principal, 'publish', topic);
        publishRate.take(rateKey(principal, address));
        const result = await hub.publishInputs(topic, [
          {
            data: jsonText('data', args.data),
            event: args.event ?? undefined,
            idempotencyKey: args.idempotencyKey ?? undefined,
          },
        ]);
        return { topic, ...result.outcomes[0]! };
      },
      async submitJob(_source, args, { principal, address }) {
        const queue = args.queue as string;
        auth.authorize(principal, 'publish', queue);
        publishRate.take(rateKey(principal, address));
        const { job, created } = await jobs.submit(queue, {
          payload: jsonText('payload', args.payload),
          callbackUrl: args.callbackUrl ?? undefined,
          idempotencyKey: args.idempotencyKey ?? undefined,
          maxAttempts: args.maxAttempts ?? undefined,
          timeoutMs: args.timeoutMs ?? undefined,
        });
        return { id: job.id, queue: job.queue, status: job.status, created };
      },
    },

    Subscription: {
      messages: {
        subscribe(_source, args, { principal }) {
          const topic = args.topic as string;
          auth.authorize(principal, 'subscribe', topic);
          let cancelExpiry = (): void => {};
          const queue = new FeedQueue({
            feed: hub.feed,
            topic,
            after: offsetArg('after', args.after),
            epoch: (args.epoch ?? undefined) as string | undefined,
            maxQueued: deps.maxQueuedEvents,
            presence: principal.anonymous ? undefined : { sub: principal.sub },
            onEnd: () => cancelExpiry(),
          });
          // The stream must not outlive the token that opened it.
          cancelExpiry = scheduleExpiry(principal, () => queue.fail(unauthorized(EXPIRED)));
          return queue;
        },
        resolve: (event) => event,
      },
      job: {
        async subscribe(_source, { id }, context) {
          const job = await readJob(id, context);
          let cancelExpiry = (): void => {};
          const queue = new FeedQueue({
            feed: hub.feed,
            topic: statusTopic(job.queue, job.id),
            after: 0, // from the job's first status: a late follower still sees every step
            epoch: undefined,
            maxQueued: deps.maxQueuedEvents,
            onEnd: () => cancelExpiry(),
          });
          cancelExpiry = scheduleExpiry(context.principal, () => queue.fail(unauthorized(EXPIRED)));
          return new JobEvents(queue, () => jobs.read(job.id));
        },
        resolve: (event) => event as JobView,
      },
    },
  };
}

/** Message.data: the stored JSON text parsed once per message (shared by every query that reads it). */
const parsedData = new WeakMap<StoredMessage, unknown>();
export function messageData(message: StoredMessage): unknown {
  if (parsedData.has(message)) return parsedData.get(message);
  const value = JSON.parse(message.data);
  parsedData.set(message, value);
  return value;
}

export function eventTypeName(event: FeedEvent): 'Message' | 'Gap' | 'Reset' {
  if (isMessage(event)) return 'Message';
  return event.kind === 'gap' ? 'Gap' : 'Reset';
}

/** A cursor argument (Float in the schema: offsets pass 2^31): a whole number ≥ 0, or undefined. */
function offsetArg(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badRequest(`${name} must be a whole number ≥ 0 (an offset)`);
  }
  return value;
}

/** JSON argument → the JSON text the hub stores, within the contract's nesting depth. */
function jsonText(name: string, value: unknown): string {
  const text = value === undefined ? 'null' : JSON.stringify(value);
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw badRequest(`${name} is nested deeper than ${MAX_JSON_DEPTH} levels; flatten it`);
  }
  return text;
}

async function orNullWhenMissing<T>(pending: Promise<T>): Promise<T | null> {
  try {
    return await pending;
  } catch (error) {
    if (isSwitchboardError(error) && error.code === 'not_found') return null;
    throw error;
  }
}
