/**
 * Competing consumers over HTTP: long-poll claim, ack, nack, group state and list, explicit
 * create (PUT) and delete. Only wire translation here; the rules live in `core/groups.ts`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { GROUP_DEFAULTS, GROUP_RANGES } from '../../core/group-rules.js';
import { groupDeliveryJson } from '../../core/group-wire.js';
import type { Hub } from '../../core/hub.js';
import { integerParam } from '../../core/validate.js';
import { badRequest } from '../../protocol/errors.js';
import { jsonObjectBody } from '../shared/body.js';

type GroupParams = { topic: string; group: string };
type ClaimQuery = {
  max?: string;
  wait?: string;
  leaseMs?: string;
  member?: string;
  start?: string;
  maxAttempts?: string;
};
type MemberQuery = { member?: string };

const GROUP_PATH = '/v1/topics/:topic/groups/:group';

/** Body and query values are passed on as sent: the core checks every option at run time. */
const unchecked = <T>(value: unknown): T => value as T;

const sendJson = (reply: FastifyReply, status: number, text: string) =>
  reply.code(status).type('application/json; charset=utf-8').header('cache-control', 'no-store').send(text);

/** Query values arrive as strings (or arrays when repeated); the core checks the rest. */
function singleString(name: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (Array.isArray(raw)) throw badRequest(`${name} was given ${raw.length} times; send it once`);
  return String(raw);
}

const optionalInteger = (name: string, raw: unknown, range: { min: number; max: number }) =>
  raw === undefined || raw === '' ? undefined : integerParam(name, raw, { ...range, fallback: range.min });

export function registerGroups(app: FastifyInstance, hub: Hub): void {
  const { groups } = hub;
  const { maxWaitSeconds } = hub.options.limits;

  app.put<{ Params: GroupParams }>(GROUP_PATH, async (request, reply) => {
    const body = request.body === undefined ? {} : jsonObjectBody(request.body);
    const { topic, group } = request.params;
    const result = await groups.ensure(topic, group, {
      start: unchecked(body.start),
      maxAttempts: unchecked(body.maxAttempts),
    });
    const state = await groups.state(topic, group);
    return reply.code(result.created ? 201 : 200).send({ created: result.created, ...state });
  });

  app.post<{ Params: GroupParams; Querystring: ClaimQuery }>(
    `${GROUP_PATH}/claim`,
    async (request, reply) => {
      const { query } = request;
      const max = integerParam('max', query.max, { ...GROUP_RANGES.max, fallback: GROUP_DEFAULTS.max });
      const wait = integerParam('wait', query.wait, { min: 0, max: maxWaitSeconds, fallback: 0 });
      const leaseMs = optionalInteger('leaseMs', query.leaseMs, GROUP_RANGES.leaseMs);
      const maxAttempts = optionalInteger('maxAttempts', query.maxAttempts, GROUP_RANGES.maxAttempts);
      const gone = new AbortController();
      const onClose = (): void => gone.abort();
      reply.raw.once('close', onClose);
      try {
        const answer = await groups.claim(request.params.topic, request.params.group, {
          member: singleString('member', query.member),
          max,
          waitMs: wait * 1000,
          leaseMs,
          start: unchecked(singleString('start', query.start)),
          maxAttempts,
          signal: gone.signal,
        });
        const messages = answer.deliveries.map((d) => groupDeliveryJson(d)).join(',');
        return sendJson(
          reply,
          200,
          `{"topic":"${answer.topic}","group":"${answer.group}","member":${JSON.stringify(answer.member)},"leaseMs":${answer.leaseMs},"messages":[${messages}]}`,
        );
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  app.post<{ Params: GroupParams; Querystring: MemberQuery }>(`${GROUP_PATH}/ack`, async (request) => {
    const body = jsonObjectBody(request.body);
    const member = body.member ?? singleString('member', request.query.member);
    const answer = await groups.ack(request.params.topic, request.params.group, body.offsets, {
      member: unchecked(member),
    });
    return { acked: answer.offsets, committed: answer.committed };
  });

  app.post<{ Params: GroupParams; Querystring: MemberQuery }>(`${GROUP_PATH}/nack`, async (request) => {
    const body = jsonObjectBody(request.body);
    const member = body.member ?? singleString('member', request.query.member);
    const answer = await groups.nack(request.params.topic, request.params.group, body.offsets, {
      member: unchecked(member),
      delayMs: unchecked(body.delayMs),
      error: unchecked(body.error),
    });
    return { nacked: answer.offsets, committed: answer.committed };
  });

  app.get<{ Params: GroupParams }>(GROUP_PATH, async (request) =>
    groups.state(request.params.topic, request.params.group),
  );

  app.get<{ Params: { topic: string } }>('/v1/topics/:topic/groups', async (request) => ({
    topic: request.params.topic,
    groups: await groups.list(request.params.topic),
  }));

  // Admin only in token mode, like topic deletion (route-rules.ts).
  app.delete<{ Params: GroupParams }>(GROUP_PATH, async (request, reply) => {
    await groups.delete(request.params.topic, request.params.group);
    return reply.code(204).send();
  });
}
