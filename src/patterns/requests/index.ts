/**
 * Request-reply over HTTP (docs/request-reply.md): `POST /v1/topics/{topic}/requests?timeout=S`
 * appends the request and holds the call until the first reply (or 504 `timeout`);
 * `POST /v1/replies/{replyTo}` answers one. The rules (first reply wins, inboxes, deadlines) are the
 * hub's (core/requests.ts); this module only translates.
 */
import type { FastifyInstance } from 'fastify';
import { parsePublishBody } from '../../core/envelopes.js';
import type { Hub, PublishInput } from '../../core/hub.js';
import { integerParam } from '../../core/validate.js';
import { badRequest } from '../../protocol/errors.js';
import { bodyOf, jsonObjectBodyWithRaw } from '../shared/body.js';

const ANSWER_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** A request body: one publish envelope, or `text/plain` as a string `data`. Never a batch or a delay. */
export function requestInput(body: unknown): PublishInput {
  const tagged = bodyOf(body);
  if (tagged.kind === 'text') return { data: JSON.stringify(tagged.text) };
  const { inputs, batch } = parsePublishBody(tagged.text);
  if (batch)
    throw badRequest('a request is one envelope {"data":…}, not a batch: send each request on its own');
  const input = inputs[0]!;
  if (
    (input as { delayMs?: unknown }).delayMs !== undefined ||
    (input as { deliverAt?: unknown }).deliverAt !== undefined
  ) {
    throw badRequest(
      'a request cannot be delayed (delayMs/deliverAt): its caller is waiting for the reply now',
    );
  }
  return { data: input.data, event: input.event, idempotencyKey: input.idempotencyKey };
}

/** `{"topic","offset","replyTo","reply":<the reply's data as sent>}`, built around the reply's text. */
export function requestAnswerJson(answer: {
  topic: string;
  offset: number;
  replyTo: string;
  reply: string;
}): string {
  return `{"topic":${JSON.stringify(answer.topic)},"offset":${answer.offset},"replyTo":${JSON.stringify(answer.replyTo)},"reply":${answer.reply}}`;
}

export function registerRequests(app: FastifyInstance, hub: Hub): void {
  app.post<{ Params: { topic: string }; Querystring: { timeout?: string } }>(
    '/v1/topics/:topic/requests',
    async (request, reply) => {
      const seconds = integerParam('timeout', request.query.timeout, { min: 1, max: 60, fallback: 30 });
      const input = requestInput(request.body);
      // The caller hanging up closes the inbox at once (later replies get 409).
      const abandoned = new AbortController();
      const onClose = (): void => {
        if (!reply.raw.writableFinished) abandoned.abort();
      };
      reply.raw.once('close', onClose);
      try {
        const answer = await hub.requests.request(request.params.topic, input, {
          timeoutMs: seconds * 1000,
          signal: abandoned.signal,
        });
        return reply.code(200).headers(ANSWER_HEADERS).send(requestAnswerJson(answer));
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  app.post<{ Params: { replyTo: string } }>('/v1/replies/:replyTo', async (request, reply) => {
    const tagged = bodyOf(request.body);
    let data: string;
    if (tagged.kind === 'text') data = JSON.stringify(tagged.text);
    else {
      const { value, raw } = jsonObjectBodyWithRaw(request.body);
      for (const key of Object.keys(value)) {
        if (key !== 'data')
          throw badRequest(`reply body has unknown field "${key}"; send {"data":<any JSON>}`);
      }
      const dataText = raw.get('data');
      if (dataText === undefined)
        throw badRequest('reply body has no "data" field; send {"data":<any JSON>}');
      data = dataText;
    }
    await hub.requests.respond(request.params.replyTo, data);
    return reply.code(204).send();
  });
}
