/**
 * The reserved-topic (system topic) contract, as a table of doors: every way a client can write a
 * topic — publish, batch, delete, consumer-group operations — must answer 403 `forbidden` on a
 * system topic, in every auth mode, while the same call on an ordinary topic is not refused for
 * that reason. test/security/system-topics.test.ts runs every door below against every topic in
 * SYSTEM_TOPICS.
 *
 * Adding a door (gRPC, GraphQL, MQTT, …): write a `SystemTopicDoor` whose `write` makes one real
 * write attempt with that door's standard client and maps its native refusal onto the contract
 * code (gRPC PERMISSION_DENIED → 'forbidden', an MQTT PUBACK/SUBACK failure → 'forbidden', a
 * GraphQL error's `extensions.code` …), then push it onto `SYSTEM_TOPIC_DOORS` (or export your own
 * array from your test file and call `describeSystemTopicContract(yourDoors)`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CreateServerOptions } from '../../src/server/app.js';
import { startServer, type TestServer } from '../support/server.js';
import { memory, mint, startTokenServer } from './support.js';

/** Where and as whom a door writes: `token` is undefined in open mode. */
export interface DoorTarget {
  url: string;
  token: string | undefined;
}

/** What one attempt came to: the contract code of its refusal (undefined when it was accepted). */
export interface DoorOutcome {
  code: string | undefined;
  message: string;
}

export interface SystemTopicDoor {
  /** e.g. "HTTP publish", "WebSocket group subscribe". */
  name: string;
  /** True when the door's route is admin-only (delete): a non-admin token is refused as non-admin. */
  adminOnly?: boolean;
  /** Makes one write attempt on `topic` and reports how it ended. */
  write(target: DoorTarget, topic: string): Promise<DoorOutcome>;
}

/** One of each kind the rule names; `orders` is ordinary and derives the dead-letter/presence ones. */
export const SYSTEM_TOPICS = [
  'jobs',
  'jobs.media',
  'jobs.media.job_0123456789abcdefghijkl',
  '_inbox.abc123',
  'orders.dead-letter',
  'orders.presence',
  'a.b.c.d.e.f.g.h.dead-letter',
] as const;

/** Ordinary topics that merely look close: the rule must not catch them. */
export const ORDINARY_TOPICS = [
  'orders',
  'jobsite',
  'my.jobs',
  'dead-letter',
  'presence',
  'inbox.x',
] as const;

const headers = (target: DoorTarget, json = true): Record<string, string> => ({
  ...(json ? { 'content-type': 'application/json' } : {}),
  ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
});

async function httpOutcome(response: Response): Promise<DoorOutcome> {
  const text = await response.text();
  if (response.status < 400) return { code: undefined, message: `${response.status}` };
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return { code: body.error?.code ?? `(status ${response.status})`, message: body.error?.message ?? text };
  } catch {
    return { code: `(status ${response.status}, not JSON)`, message: text.slice(0, 200) };
  }
}

const http =
  (method: string, path: (topic: string) => string, body?: string, contentType = 'application/json') =>
  async (target: DoorTarget, topic: string): Promise<DoorOutcome> =>
    httpOutcome(
      await fetch(`${target.url}${path(topic)}`, {
        method,
        headers: {
          ...headers(target, false),
          ...(body === undefined ? {} : { 'content-type': contentType }),
        },
        ...(body === undefined ? {} : { body }),
      }),
    );

/** One WebSocket op on a fresh connection (token in `?token=`); the reply's error code, if any. */
async function wsOp(target: DoorTarget, op: Record<string, unknown>): Promise<DoorOutcome> {
  const query = target.token ? `?token=${encodeURIComponent(target.token)}` : '';
  const ws = new WebSocket(`${target.url.replace(/^http/, 'ws')}/v1/ws${query}`);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const reply = await new Promise<{ ok: boolean; error?: { code: string; message: string } }>(
      (resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply to ${JSON.stringify(op)}`)), 5_000);
        ws.on('message', (data) => {
          const frame = JSON.parse(data.toString()) as { op: string; id?: number };
          if (frame.op === 'reply' && frame.id === 1) {
            clearTimeout(timer);
            resolve(frame as never);
          }
        });
        ws.send(JSON.stringify({ ...op, id: 1 }));
      },
    );
    return reply.ok
      ? { code: undefined, message: 'ok' }
      : { code: reply.error?.code, message: reply.error?.message ?? '' };
  } finally {
    ws.close();
  }
}

const group = (topic: string, rest = ''): string => `/v1/topics/${topic}/groups/workers${rest}`;

/** The doors that exist today: HTTP and WebSocket. */
export const SYSTEM_TOPIC_DOORS: SystemTopicDoor[] = [
  {
    name: 'HTTP publish (JSON)',
    write: http('POST', (t) => `/v1/topics/${t}/messages`, JSON.stringify({ data: { status: 'succeeded' } })),
  },
  {
    name: 'HTTP publish (text/plain)',
    write: http('POST', (t) => `/v1/topics/${t}/messages`, 'hello', 'text/plain'),
  },
  {
    name: 'HTTP batch publish',
    write: http('POST', (t) => `/v1/topics/${t}/messages`, JSON.stringify([{ data: 1 }, { data: 2 }])),
  },
  { name: 'HTTP delete topic', adminOnly: true, write: http('DELETE', (t) => `/v1/topics/${t}`) },
  { name: 'HTTP group create', write: http('PUT', (t) => group(t), JSON.stringify({ start: 'earliest' })) },
  { name: 'HTTP group claim', write: http('POST', (t) => group(t, '/claim?max=1')) },
  { name: 'HTTP group ack', write: http('POST', (t) => group(t, '/ack'), JSON.stringify({ offsets: [1] })) },
  {
    name: 'HTTP group nack',
    write: http('POST', (t) => group(t, '/nack'), JSON.stringify({ offsets: [1] })),
  },
  { name: 'HTTP group delete', adminOnly: true, write: http('DELETE', (t) => group(t)) },
  {
    name: 'WebSocket publish',
    write: (target, topic) => wsOp(target, { op: 'publish', topic, data: { status: 'succeeded' } }),
  },
  {
    name: 'WebSocket group subscribe',
    write: (target, topic) => wsOp(target, { op: 'subscribe', topic, group: 'workers' }),
  },
];

/** Patterns that name every system topic in SYSTEM_TOPICS (a wildcard alone never reaches them). */
const NAMING_PATTERNS = [
  'jobs',
  'jobs.>',
  '_inbox.>',
  '*.dead-letter',
  '*.presence',
  'a.b.c.d.e.f.g.h.dead-letter',
];

/**
 * The callers the contract is checked for. `toldTheRule`: the refusal must name the rule (callers
 * whose patterns do not reach a system topic are refused earlier, as for any topic outside them).
 */
export const CALLERS = [
  { name: 'open mode', token: () => Promise.resolve(undefined), admin: true, toldTheRule: true },
  { name: 'admin token', token: () => mint({ sub: 'root', admin: true }), admin: true, toldTheRule: true },
  {
    name: 'token whose patterns name the system topics',
    token: () => mint({ publish: [...NAMING_PATTERNS, '>'], subscribe: [...NAMING_PATTERNS, '>'] }),
    admin: false,
    toldTheRule: true,
  },
  {
    name: 'token with ">" only',
    token: () => mint({ publish: ['>'], subscribe: ['>'] }),
    admin: false,
    toldTheRule: false,
  },
] as const;

/**
 * Runs the reserved-topic contract for `doors`: each door refuses each system topic with 403
 * `forbidden` naming the rule, for every caller, and does not refuse an ordinary topic that way.
 * `options` go to the servers (a door that is off by default turns itself on there).
 */
export function describeSystemTopicContract(
  doors: SystemTopicDoor[],
  options: CreateServerOptions = {},
): void {
  describe.each(CALLERS)('system topics are read-only from outside: $name', (caller) => {
    let server: TestServer;
    let target: DoorTarget;
    beforeAll(async () => {
      server =
        caller.name === 'open mode' ? await startServer(memory, options) : await startTokenServer(options);
      target = { url: server.url, token: await caller.token() };
    });
    afterAll(() => server.close());

    it.each(doors)('$name refuses every system topic with 403 forbidden', async (door) => {
      for (const topic of SYSTEM_TOPICS) {
        const outcome = await door.write(target, topic);
        expect(outcome.code, `${door.name} on ${topic}: ${outcome.message}`).toBe('forbidden');
        // Callers who could otherwise do this are told the rule, not a generic refusal.
        if (caller.toldTheRule && (caller.admin || !door.adminOnly)) {
          expect(outcome.message, `${door.name} on ${topic}`).toMatch(/system topics/);
        }
      }
    });

    it.each(doors)('$name is not refused by the rule on ordinary topics', async (door) => {
      for (const topic of ORDINARY_TOPICS) {
        const outcome = await door.write(target, topic);
        expect(outcome.message, `${door.name} on ${topic}`).not.toMatch(/system topics/);
        if (caller.admin || !door.adminOnly) {
          expect(outcome.code, `${door.name} on ${topic}: ${outcome.message}`).not.toBe('forbidden');
        }
      }
    });
  });
}
