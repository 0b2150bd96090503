/**
 * Request-reply over gRPC: `Request` appends the request with a reply inbox and holds the call until
 * the first reply (the hub's `requests`, core/requests.ts); `Respond` answers one. A cancelled call
 * or a passed deadline closes the inbox at once, as an HTTP caller hanging up does.
 */
import type { UntypedHandleCall } from '@grpc/grpc-js';
import { integerParam } from '../../core/validate.js';
import { type CallDeps, unary } from './calls.js';
import { given, jsonText } from './wire.js';

interface RequestRequest {
  topic?: string;
  data?: string;
  event?: string;
  timeout_ms?: number;
}
interface RespondRequest {
  reply_to?: string;
  data?: string;
}

export function requestCalls(deps: CallDeps): Record<string, UntypedHandleCall> {
  const { hub } = deps;
  return {
    Request: unary<RequestRequest>(deps, 'Request', async (request, caller, signal) => {
      const topic = request.topic ?? '';
      caller.may('publish', topic, Buffer.byteLength(request.data ?? ''));
      // 0 (unset) is the default, like HTTP's missing `timeout`.
      const timeoutMs = integerParam('timeout_ms', request.timeout_ms || undefined, {
        min: 1_000,
        max: 60_000,
        fallback: 30_000,
      });
      const answer = await hub.requests.request(
        topic,
        { data: jsonText('data', request.data), event: given(request.event) },
        { timeoutMs, signal },
      );
      return { topic: answer.topic, offset: answer.offset, reply: answer.reply };
    }),

    Respond: unary<RespondRequest>(deps, 'Respond', async (request) => {
      // Any valid token may answer (as `POST /v1/replies/{replyTo}`): the unguessable inbox is the key.
      await hub.requests.respond(request.reply_to ?? '', jsonText('data', request.data));
      return {};
    }),
  };
}
