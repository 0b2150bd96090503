/**
 * The unary calls: each decodes its request, checks the caller like HTTP's route rules do, calls
 * the hub and encodes the answer. No rule of their own: limits, names and cursors are the hub's.
 * Held calls (long-poll Fetch, Claim, GetJob with a wait) end when the call is cancelled or its
 * deadline passes.
 */
import type { ServerUnaryCall, sendUnaryData, UntypedHandleCall } from '@grpc/grpc-js';
import type { Hub } from '../../core/hub.js';
import { statusTopic } from '../../core/jobs/job-rules.js';
import type { Jobs } from '../../core/jobs/jobs.js';
import { integerParam } from '../../core/validate.js';
import { type Caller, type CallerSecurity, callerOf } from './caller.js';
import { toGrpcError } from './status.js';
import { given, jsonText, nonZero, protoJob, protoMessage, safeInteger } from './wire.js';

export interface CallDeps {
  hub: Hub;
  jobs: Jobs;
  security: CallerSecurity;
  delivered(count: number): void;
  /** An unexpected error (not a contract error): logged, answered as INTERNAL. */
  onError(error: unknown, method: string): void;
}

// Request shapes as decoded (unset fields are absent).
interface PublishRequest {
  topic?: string;
  data?: string;
  event?: string;
  idempotency_key?: string;
}
interface FetchRequest {
  topic?: string;
  after?: number;
  limit?: number;
  wait_ms?: number;
  epoch?: string;
}
interface ClaimRequest {
  topic?: string;
  group?: string;
  member?: string;
  max?: number;
  wait_ms?: number;
  lease_ms?: number;
  start?: string;
  max_attempts?: number;
}
interface SettleRequest {
  topic?: string;
  group?: string;
  offsets?: number[];
  member?: string;
  delay_ms?: number;
  error?: string;
}
interface SubmitJobRequest {
  queue?: string;
  payload?: string;
  callback_url?: string;
  callback_secret?: string;
  idempotency_key?: string;
  max_attempts?: number;
  timeout_ms?: number;
}
interface GetJobRequest {
  id?: string;
  version?: number;
  wait_ms?: number;
}

type Handler<Req> = (request: Req, caller: Caller, signal: AbortSignal) => Promise<object>;

/** A unary handler: authenticates, runs, maps errors; the signal aborts when the call is cancelled. */
export function unary<Req>(deps: CallDeps, method: string, handler: Handler<Req>): UntypedHandleCall {
  return (call: ServerUnaryCall<Req, object>, callback: sendUnaryData<object>) => {
    const cancelled = new AbortController();
    const onCancelled = (): void => cancelled.abort();
    call.once('cancelled', onCancelled);
    callerOf(call, deps.security)
      .then((caller) => handler(call.request, caller, cancelled.signal))
      .then(
        (answer) => callback(null, answer),
        (error: unknown) => {
          const grpcError = toGrpcError(error);
          if (grpcError.name !== 'SwitchboardError') deps.onError(error, method);
          callback(grpcError);
        },
      )
      .finally(() => call.off('cancelled', onCancelled));
  };
}

const waitMs = (hub: Hub, value: number | undefined): number =>
  integerParam('wait_ms', value ?? 0, { min: 0, max: hub.options.limits.maxWaitSeconds * 1000, fallback: 0 });

export function unaryCalls(deps: CallDeps): Record<string, UntypedHandleCall> {
  const { hub, jobs } = deps;
  return {
    Publish: unary<PublishRequest>(deps, 'Publish', async (request, caller) => {
      const topic = request.topic ?? '';
      caller.may('publish', topic, Buffer.byteLength(request.data ?? ''));
      const data = jsonText('data', request.data);
      const result = await hub.publishInputs(topic, [
        { data, event: given(request.event), idempotencyKey: given(request.idempotency_key) },
      ]);
      const outcome = result.outcomes[0]!;
      return { topic, offset: outcome.offset, time: outcome.time, duplicate: outcome.duplicate };
    }),

    Fetch: unary<FetchRequest>(deps, 'Fetch', async (request, caller, signal) => {
      const topic = request.topic ?? '';
      caller.may('subscribe', topic);
      const limit = integerParam('limit', nonZero(request.limit), {
        min: 1,
        max: hub.options.limits.maxFetchLimit,
        fallback: 100,
      });
      const result = await hub.fetchOrWait(topic, {
        after: safeInteger('after', request.after),
        limit,
        epoch: given(request.epoch),
        waitMs: waitMs(hub, request.wait_ms),
        signal,
        transport: 'grpc',
      });
      deps.delivered(result.messages.length);
      return {
        topic,
        epoch: result.epoch ?? '',
        messages: result.messages.map(protoMessage),
        next: result.next,
        first: result.first,
        last: result.last,
        gap: result.gap,
        reset: result.reset,
      };
    }),

    Claim: unary<ClaimRequest>(deps, 'Claim', async (request, caller, signal) => {
      const topic = request.topic ?? '';
      caller.may('subscribe', topic);
      const answer = await hub.groups.claim(topic, request.group ?? '', {
        member: given(request.member),
        max: nonZero(request.max),
        waitMs: waitMs(hub, request.wait_ms),
        leaseMs: nonZero(request.lease_ms),
        start: given(request.start) as 'earliest' | 'latest' | undefined, // the core checks it
        maxAttempts: nonZero(request.max_attempts),
        signal,
      });
      deps.delivered(answer.deliveries.length);
      return {
        topic: answer.topic,
        group: answer.group,
        member: answer.member,
        lease_ms: answer.leaseMs,
        messages: answer.deliveries.map((d) => ({ message: protoMessage(d.message), attempt: d.attempt })),
      };
    }),

    Ack: unary<SettleRequest>(deps, 'Ack', async (request, caller) => {
      const topic = request.topic ?? '';
      caller.may('subscribe', topic);
      const answer = await hub.groups.ack(topic, request.group ?? '', request.offsets ?? [], {
        member: given(request.member),
      });
      return { offsets: answer.offsets, committed: answer.committed };
    }),

    Nack: unary<SettleRequest>(deps, 'Nack', async (request, caller) => {
      const topic = request.topic ?? '';
      caller.may('subscribe', topic);
      const answer = await hub.groups.nack(topic, request.group ?? '', request.offsets ?? [], {
        member: given(request.member),
        delayMs: nonZero(request.delay_ms),
        error: given(request.error),
      });
      return { offsets: answer.offsets, committed: answer.committed };
    }),

    SubmitJob: unary<SubmitJobRequest>(deps, 'SubmitJob', async (request, caller) => {
      const queue = request.queue ?? '';
      caller.may('publish', queue, Buffer.byteLength(request.payload ?? ''));
      const { job, created } = await jobs.submit(queue, {
        payload: jsonText('payload', request.payload, 'null'),
        callbackUrl: given(request.callback_url),
        callbackSecret: given(request.callback_secret),
        idempotencyKey: given(request.idempotency_key),
        maxAttempts: nonZero(request.max_attempts),
        timeoutMs: nonZero(request.timeout_ms),
      });
      return { job: protoJob(job), duplicate: !created, status_topic: statusTopic(job.queue, job.id) };
    }),

    GetJob: unary<GetJobRequest>(deps, 'GetJob', async (request, caller, signal) => {
      let job = await jobs.read(request.id ?? '');
      caller.may('subscribe', job.queue);
      const wait = waitMs(hub, request.wait_ms);
      const version = request.version === undefined ? undefined : safeInteger('version', request.version);
      if (version !== undefined && wait > 0 && job.version === version) {
        job = await jobs.get(job.id, { version, waitMs: wait, signal });
      }
      return { job: protoJob(job) };
    }),
  };
}
