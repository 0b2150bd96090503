/**
 * `WatchJob`: a job's status topic as a server stream, ending after the terminal status (what
 * `GET /v1/jobs/{id}/events` is for SSE). Each event is one status message: its offset (the resume
 * cursor), the change, and the job as it was then. When retention took the history, the job as
 * stored now is sent instead (offset 0).
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { scheduleExpiry } from '../../core/auth.js';
import type { FeedSubscription } from '../../core/feed.js';
import { statusTopic } from '../../core/jobs/job-rules.js';
import { isFinished } from '../../core/jobs/transitions.js';
import { unauthorized } from '../../protocol/errors.js';
import { callerOf } from './caller.js';
import type { CallDeps } from './calls.js';
import { contractStatus, toGrpcError } from './status.js';
import { protoJob, protoJobFromJson, safeInteger } from './wire.js';

interface WatchJobRequest {
  id?: string;
  after?: number;
}

const TERMINAL_EVENTS = new Set(['succeeded', 'failed', 'canceled']);

export function watchJobCall(deps: CallDeps) {
  const { hub, jobs } = deps;
  return (call: ServerWritableStream<WatchJobRequest, object>): void => {
    let subscription: FeedSubscription | undefined;
    let cancelExpiry = (): void => {};
    let ended = false;
    const finish = (error?: unknown): void => {
      if (ended) return;
      ended = true;
      subscription?.close();
      cancelExpiry();
      if (error === undefined) call.end();
      else {
        const grpcError = toGrpcError(error);
        if (grpcError.name !== 'SwitchboardError') deps.onError(error, 'WatchJob');
        call.emit('error', grpcError);
      }
    };
    call.once('cancelled', () => {
      ended = true;
      subscription?.close();
      cancelExpiry();
    });
    /** The job as stored now: for when its history left the status topic. */
    const snapshot = async (): Promise<void> => {
      const job = await jobs.read(call.request.id ?? '');
      if (ended) return;
      call.write({ offset: 0, event: isFinished(job) ? job.status : 'progress', job: protoJob(job) });
      if (isFinished(job)) finish();
    };
    (async () => {
      const caller = await callerOf(call, deps.security);
      const job = await jobs.read(call.request.id ?? '');
      caller.may('subscribe', job.queue);
      const after = safeInteger('after', call.request.after);
      if (ended) return;
      cancelExpiry = scheduleExpiry(caller.principal, () =>
        call.emit('error', contractStatus(unauthorized('token expired; watch again with a fresh token'))),
      );
      subscription = hub.feed.subscribe(
        statusTopic(job.queue, job.id),
        { after, transport: 'grpc' },
        {
          started: () => {},
          deliver: (messages, from) => {
            for (let i = from; i < messages.length && !ended; i++) {
              const message = messages[i]!;
              const event = message.event ?? 'message';
              call.write({ offset: message.offset, event, job: protoJobFromJson(message.data) });
              if (TERMINAL_EVENTS.has(event)) finish();
            }
          },
          gap: () => void snapshot().catch(finish),
          reset: () => void snapshot().catch(finish),
          failed: (error) => finish(error),
        },
      );
    })().catch(finish);
  };
}
