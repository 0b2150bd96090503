/**
 * Server-Sent Events: `GET /v1/topics/{topic}/events` and the multi-topic `GET /v1/events?topic=…`.
 * Each stream starts with a `retry:` hint and a `ready` event whose id is the starting cursor (so a
 * reconnect resumes even before the first message), replays from `Last-Event-ID` (which wins) or
 * `after`, then stays live. Without a cursor a topic starts live. Protocol: docs/protocol.md.
 */

import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { scheduleExpiry } from '../../core/auth.js';
import type { Hub } from '../../core/hub.js';
import { presenceInfoText, presenceSub } from '../../core/presence.js';
import { assertTopic, integerParam } from '../../core/validate.js';
import { badRequest, unavailable } from '../../protocol/errors.js';
import { parseCursor, SseEvent } from '../../protocol/sse.js';
import { CloseCode } from '../../protocol/ws.js';
import { DeliveryCounter } from '../shared/delivery-counter.js';
import { TurnBatcher } from '../shared/turn-batcher.js';
import { SseStream } from './stream.js';
import { eventChunk, responseHead, retryChunk } from './wire.js';

export interface SseOptions {
  /** @default 15_000 (15 s) */
  keepAliveMs: number;
  /** The `retry:` reconnect hint. @default 2_000 (2 s) */
  retryMs: number;
  maxBufferedBytes: number;
  maxTopicsPerConnection: number;
  /** Metrics: counts an open stream; returns the release function. */
  trackConnection?: (transport: 'sse') => () => void;
  /** Metrics: messages written to clients, reported in bulk about once a second. */
  delivered?: (transport: 'sse', count: number) => void;
}

export interface SseEndpoint {
  /** Open streams. */
  readonly streams: number;
  /** Ends every stream with a `close` event and a jittered `retry:` hint, and waits (bounded). */
  close(graceMs?: number): Promise<void>;
}

type EventsQuery = { after?: string; topic?: string | string[]; info?: string | string[] };

const SHUTDOWN_REASON = 'server restarting; reconnecting resumes from your last event id';
/** No `retry:` hint with it: reconnecting with the same (expired) token would only get a 401. */
const EXPIRED_REASON =
  'token expired; reconnect with a fresh token (?token=) to resume from your last event id';

export function registerSse(app: FastifyInstance, hub: Hub, options: SseOptions): SseEndpoint {
  const batcher = new TurnBatcher();
  const deliveries = new DeliveryCounter(options.delivered && ((count) => options.delivered?.('sse', count)));
  const streams = new Set<SseStream>();
  let closing = false;

  const open = async (
    request: FastifyRequest,
    reply: FastifyReply,
    topics: string[],
    cursorText: string | undefined,
    multiTopic: boolean,
  ): Promise<void> => {
    // `info=` (a JSON object ≤ 1 KiB) shows in the topics' presence lists (docs/presence.md).
    const info = presenceInfoText(singleValue('info', (request.query as EventsQuery).info));
    if (topics.length > options.maxTopicsPerConnection) {
      throw badRequest(
        `${topics.length} topics requested; one stream carries at most ${options.maxTopicsPerConnection} (maxTopicsPerConnection): open several streams`,
      );
    }
    const given = cursorText === undefined ? new Map<string, number>() : parsedCursor(cursorText, topics);
    // Where each topic's log ends now: live-only topics start there, and the first id covers all topics.
    const states = await Promise.all(topics.map((topic) => hub.fetch(topic, { after: 0, limit: 0 })));
    const socket = request.raw.socket as Socket;
    if (closing) throw unavailable('the server is shutting down; reconnect in a moment');
    reply.hijack();
    if (socket.destroyed) return; // the client left while its start was looked up
    const cursors = new Map(topics.map((topic, i) => [topic, given.get(topic) ?? states[i]!.last]));

    const stream = new SseStream({
      socket,
      batcher,
      cursors,
      multiTopic,
      maxBufferedBytes: options.maxBufferedBytes,
      deliveries,
    });
    streams.add(stream);
    const untrack = options.trackConnection?.('sse');
    // The auth hook checked the token when the stream opened; the stream must not outlive it.
    let cancelExpiry = (): void => {};
    socket.once('close', () => {
      cancelExpiry();
      stream.release();
      streams.delete(stream);
      untrack?.();
    });
    batcher.cork(socket);
    socket.write(responseHead(headersOf(reply)));
    stream.write(retryChunk(options.retryMs));
    const ready = topics.map((topic, i) => ({
      topic,
      epoch: states[i]!.epoch,
      last: states[i]!.last,
      after: cursors.get(topic)!,
    }));
    stream.write(eventChunk(SseEvent.Ready, { topics: ready }, stream.id));
    stream.subscribe(hub.feed, { sub: presenceSub(request.principal), info });
    if (request.principal !== undefined) {
      cancelExpiry = scheduleExpiry(request.principal, () =>
        stream.close(CloseCode.Unauthorized, EXPIRED_REASON),
      );
    }
  };

  const routeOptions = { exposeHeadRoute: false };

  app.get<{ Params: { topic: string }; Querystring: EventsQuery }>(
    '/v1/topics/:topic/events',
    routeOptions,
    async (request, reply) => {
      const topic = assertTopic(request.params.topic);
      const header = lastEventId(request);
      const cursorText = header ?? singleValue('after', request.query.after);
      let after: number | undefined;
      if (cursorText !== undefined) {
        const name = header === undefined ? 'after' : 'Last-Event-ID';
        after = integerParam(name, cursorText, { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
      }
      await open(request, reply, [topic], after === undefined ? undefined : String(after), false);
      return reply;
    },
  );

  app.get<{ Querystring: EventsQuery }>('/v1/events', routeOptions, async (request, reply) => {
    const raw = request.query.topic;
    const topics = [...new Set(raw === undefined ? [] : Array.isArray(raw) ? raw : [raw])];
    if (topics.length === 0) {
      throw badRequest('name the topics to stream: /v1/events?topic=orders&topic=billing');
    }
    for (const topic of topics) assertTopic(topic);
    const cursorText = lastEventId(request) ?? singleValue('after', request.query.after);
    await open(request, reply, topics, cursorText, true);
    return reply;
  });

  const keepAliveTimer = setInterval(() => {
    for (const stream of streams) stream.keepAlive();
  }, options.keepAliveMs).unref();

  return {
    get streams() {
      return streams.size;
    },
    async close(graceMs = 2_000) {
      closing = true;
      clearInterval(keepAliveTimer);
      deliveries.stop();
      for (const stream of streams) {
        // Jitter spreads the reconnects of many clients over one to two retry intervals.
        const retryMs = options.retryMs * (1 + Math.random());
        stream.close(CloseCode.ServiceRestart, SHUTDOWN_REASON, retryMs);
      }
      batcher.flushNow();
      const deadline = Date.now() + graceMs;
      while (streams.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

/** `Last-Event-ID` wins over `after`: it is what a reconnecting EventSource sends. */
function lastEventId(request: FastifyRequest): string | undefined {
  const header = request.headers['last-event-id'];
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined || value.trim() === '' ? undefined : value;
}

function singleValue(name: string, value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) throw badRequest(`${name} was given ${value.length} times; send it once`);
  return value === '' ? undefined : value;
}

function parsedCursor(text: string, topics: string[]): Map<string, number> {
  const parsed = parseCursor(text, topics);
  if (!parsed.ok) throw badRequest(parsed.message);
  return parsed.cursor;
}

/** Headers set by hooks (CORS from the browser guard) carried into the hand-written head. */
function headersOf(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value === undefined || name === 'content-type' || name === 'content-length') continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return headers;
}
