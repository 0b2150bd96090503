/**
 * Request-reply for the client SDK (docs/request-reply.md): `request` sends one request and
 * resolves with the first reply's data; `respond` answers every request on a topic with a
 * handler's result, as a plain subscriber or as a member of a consumer group (which spreads the
 * requests over its members, like NATS queue groups).
 */
import { SwitchboardError } from '../protocol/errors.js';
import type { Message } from '../protocol/message.js';
import type { HttpClient } from './http.js';
import type { Transport } from './transports/types.js';

export interface RequestOptions {
  /** How long to wait for the reply (1-60000 ms; HTTP rounds up to whole seconds). @default 30_000 */
  timeoutMs?: number;
  event?: string;
}

export interface RequestAnswer<T = unknown> {
  topic: string;
  /** The request's offset in the topic's log. */
  offset: number;
  replyTo: string;
  reply: T;
}

export interface RespondOptions {
  /** Join this consumer group: each request goes to one member of the group. */
  group?: string;
}

/** What the handler gets: the request message (`data`, `replyTo`, …). Its result is the reply's data. */
export type RequestHandler<T = unknown> = (request: Message<T>) => unknown;

export interface Responder {
  /** Stops answering. */
  close(): void;
}

/** Extra time the transport waits beyond the server's own deadline (the server answers 504 first). */
const TRANSPORT_SLACK_MS = 5_000;

export async function sendRequest<T>(
  http: HttpClient,
  websocket: Transport | undefined,
  topic: string,
  data: unknown,
  options: RequestOptions,
): Promise<RequestAnswer<T>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(Number.isSafeInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= 60_000)) {
    throw new SwitchboardError(
      'bad_request',
      `timeoutMs must be a whole number from 1 to 60000, got ${timeoutMs}`,
    );
  }
  if (data === undefined) throw new SwitchboardError('bad_request', 'a request needs data (any JSON value)');
  if (websocket?.request !== undefined) {
    const reply = await websocket.request(
      {
        op: 'request',
        topic,
        data,
        timeoutMs,
        ...(options.event === undefined ? {} : { event: options.event }),
      },
      timeoutMs + TRANSPORT_SLACK_MS,
    );
    return reply as unknown as RequestAnswer<T>;
  }
  const answer = await http.json<RequestAnswer<T>>(`/v1/topics/${encodeURIComponent(topic)}/requests`, {
    method: 'POST',
    query: { timeout: Math.ceil(timeoutMs / 1000) },
    body: { data, ...(options.event === undefined ? {} : { event: options.event }) },
    timeoutMs: timeoutMs + TRANSPORT_SLACK_MS,
  });
  return answer.body;
}

/**
 * Answers one request with the handler's result. A 409 (another responder was first, or the caller
 * gave up) or 404 is not an error of this responder: it is reported as a warning and dropped.
 */
export async function answerRequest(
  http: HttpClient,
  websocket: Transport | undefined,
  request: Message,
  handler: RequestHandler,
  warn: (error: Error) => void,
): Promise<void> {
  const replyTo = request.replyTo;
  if (replyTo === undefined) return; // an ordinary message on the topic, not a request
  const result = await handler(request);
  const data = result === undefined ? null : result;
  try {
    if (websocket?.request !== undefined) await websocket.request({ op: 'respond', replyTo, data });
    else await http.json(`/v1/replies/${encodeURIComponent(replyTo)}`, { method: 'POST', body: { data } });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'conflict' || code === 'not_found') warn(error as Error);
    else throw error;
  }
}
