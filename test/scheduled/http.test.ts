/**
 * Delayed delivery over a real server, for every engine: HTTP publish with delayMs/deliverAt (202,
 * the schedule id), appended when due in due order, idempotency at schedule time, list, read,
 * cancel, the WebSocket publish op, and bad input answered with the contract's JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DELAY_MS } from '../../src/core/schedule-rules.js';
import { freshTopic } from '../push/support/util.js';
import { connectWs } from '../push/support/ws-client.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

describe.each(ENGINE_FIXTURES)(
  'delayed delivery over HTTP and WebSocket: $name',
  ({ fixture: makeFixture }) => {
    let fixture: EngineFixture;
    let server: TestServer;
    let url: string;

    beforeAll(async () => {
      fixture = makeFixture();
      server = await startServer(fixture);
      url = server.url;
    });
    afterAll(async () => {
      await server.close();
      fixture.cleanup();
    });

    const publish = (topic: string, body: unknown) => post(`${url}/v1/topics/${topic}/messages`, body);
    const messagesOf = async (topic: string, wait = 0) =>
      (await json(await fetch(`${url}/v1/topics/${topic}/messages?after=0&wait=${wait}`))).messages as Array<{
        offset: number;
        time: number;
        event?: string;
        data: unknown;
      }>;
    const listed = async (topic: string) => json(await fetch(`${url}/v1/scheduled?topic=${topic}`));

    it('answers 202 with the schedule id, lists it, and appends it when due (not before)', async () => {
      const topic = freshTopic('later');
      const before = Date.now();
      const response = await publish(topic, { data: { n: 1, keep: [1.5] }, event: 'tick', delayMs: 1_500 });
      expect(response.status).toBe(202);
      const answer = await json(response);
      expect(answer).toEqual({
        topic,
        scheduled: expect.stringMatching(/^sch_/),
        deliverAt: expect.any(Number),
        duplicate: false,
      });
      expect(answer.deliverAt).toBeGreaterThanOrEqual(before + 1_500);
      expect(await messagesOf(topic)).toEqual([]);
      const list = await listed(topic);
      expect(list).toEqual({
        topic,
        scheduled: [
          {
            id: answer.scheduled,
            topic,
            deliverAt: answer.deliverAt,
            createdAt: expect.any(Number),
            event: 'tick',
            data: { n: 1, keep: [1.5] },
          },
        ],
      });
      const one = await fetch(`${url}/v1/scheduled/${answer.scheduled}`);
      expect(await json(one)).toEqual(list.scheduled[0]);

      // A long poll is answered by the append, which happens at the due time.
      const messages = await messagesOf(topic, 5);
      expect(messages).toEqual([
        { topic, offset: 1, time: expect.any(Number), event: 'tick', data: { n: 1, keep: [1.5] } },
      ]);
      expect(messages[0]!.time).toBeGreaterThanOrEqual(answer.deliverAt);
      expect((await listed(topic)).scheduled).toEqual([]);
      expect((await fetch(`${url}/v1/scheduled/${answer.scheduled}`)).status).toBe(404);
    });

    it('appends in due order, not in the order scheduled; deliverAt works like delayMs', async () => {
      const topic = freshTopic('order');
      const base = Date.now() + 1_500; // far enough ahead that a busy machine schedules all four first
      for (const [n, at] of [
        [3, base + 60],
        [1, base],
        [2, base + 30],
        [0, base - 30],
      ] as const) {
        expect((await publish(topic, { data: n, deliverAt: at })).status).toBe(202);
      }
      const now = await json(await publish(freshTopic('now'), { data: 'now', delayMs: 0 }));
      expect(now.deliverAt).toBeLessThanOrEqual(Date.now());
      await expect.poll(async () => (await messagesOf(topic)).length, { timeout: 5_000 }).toBe(4);
      expect((await messagesOf(topic)).map((m) => m.data)).toEqual([0, 1, 2, 3]);
    });

    it('honours an idempotency key at schedule time: a repeat answers the same schedule', async () => {
      const topic = freshTopic('idem');
      const first = await json(await publish(topic, { data: 'x', delayMs: 200, idempotencyKey: 'k1' }));
      const repeat = await publish(topic, { data: 'y', delayMs: 60_000, idempotencyKey: 'k1' });
      expect(repeat.status).toBe(200);
      expect(await json(repeat)).toEqual({ ...first, duplicate: true });
      await expect.poll(async () => (await messagesOf(topic)).length, { timeout: 5_000 }).toBe(1);
      // Still the same schedule after it was delivered (within the dedupe window): nothing more appended.
      expect(await json(await publish(topic, { data: 'z', delayMs: 0, idempotencyKey: 'k1' }))).toMatchObject(
        {
          scheduled: first.scheduled,
          duplicate: true,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await messagesOf(topic)).map((m) => m.data)).toEqual(['x']);
    });

    it('cancels before due (then 404), and a canceled message is never appended', async () => {
      const topic = freshTopic('cancel');
      const { scheduled } = await json(await publish(topic, { data: 'never', delayMs: 1_500 }));
      const kept = await json(await publish(topic, { data: 'kept', delayMs: 1_500 }));
      const canceled = await fetch(`${url}/v1/scheduled/${scheduled}`, { method: 'DELETE' });
      expect(canceled.status).toBe(204);
      const again = await fetch(`${url}/v1/scheduled/${scheduled}`, { method: 'DELETE' });
      expect(again.status).toBe(404);
      expect((await json(again)).error.code).toBe('not_found');
      expect((await listed(topic)).scheduled.map((s: { id: string }) => s.id)).toEqual([kept.scheduled]);
      await expect.poll(async () => (await messagesOf(topic)).length, { timeout: 5_000 }).toBe(1);
      expect((await messagesOf(topic)).map((m) => m.data)).toEqual(['kept']);
      // After delivery, and for ids that never existed: 404.
      expect((await fetch(`${url}/v1/scheduled/${kept.scheduled}`, { method: 'DELETE' })).status).toBe(404);
      expect((await fetch(`${url}/v1/scheduled/sch_nope`, { method: 'DELETE' })).status).toBe(404);
    });

    it('refuses bad delays, batches and system topics with the contract JSON; the server stays up', async () => {
      const topic = freshTopic('bad');
      const cases: Array<[unknown, RegExp]> = [
        [{ data: 1, delayMs: -1 }, /delayMs -1 is invalid/],
        [{ data: 1, delayMs: 1.5 }, /delayMs 1.5 is invalid/],
        [{ data: 1, delayMs: MAX_DELAY_MS + 1 }, /30 days/],
        [{ data: 1, delayMs: '10s' }, /delayMs "10s" is invalid/],
        [{ data: 1, delayMs: 10, deliverAt: Date.now() + 10 }, /either delayMs or deliverAt/],
        [{ data: 1, deliverAt: 'tomorrow' }, /deliverAt "tomorrow" is invalid/],
        [{ data: 1, deliverAt: Date.now() - 3_600_000 }, /in the past/],
        [{ data: 1, deliverAt: Date.now() + MAX_DELAY_MS + 60_000 }, /more than 30 days ahead/],
        [[{ data: 1, delayMs: 10 }, { data: 2 }], /apply to single messages/],
      ];
      for (const [body, message] of cases) {
        const response = await publish(topic, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        const answer = await json(response);
        expect(answer).toEqual({ error: { code: 'bad_request', message: expect.stringMatching(message) } });
      }
      const system = await publish(`${topic}.dead-letter`, { data: 1, delayMs: 10 });
      expect(system.status).toBe(403);
      expect((await json(system)).error.code).toBe('forbidden');
      const tooBig = await publish(topic, { data: 'x'.repeat(70_000), delayMs: 10 });
      expect(tooBig.status).toBe(413);
      expect((await fetch(`${url}/v1/scheduled`)).status).toBe(400);
      expect((await fetch(`${url}/v1/scheduled?topic=no%20spaces`)).status).toBe(400);
      expect((await listed(topic)).scheduled).toEqual([]);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    });

    it('WebSocket publish op with delayMs replies with the schedule; subscribers get it when due', async () => {
      const topic = freshTopic('ws');
      const client = await connectWs(url);
      try {
        await client.request({ op: 'subscribe', topic });
        const reply = await client.request({ op: 'publish', topic, data: { hi: 1 }, delayMs: 200 });
        expect(reply).toMatchObject({
          ok: true,
          topic,
          scheduled: expect.stringMatching(/^sch_/),
          deliverAt: expect.any(Number),
          duplicate: false,
        });
        expect(reply.offset).toBeUndefined();
        const message = await client.next((frame) => frame.op === 'message', 5_000);
        expect(message).toMatchObject({ op: 'message', topic, offset: 1, data: { hi: 1 } });
        expect(message.time).toBeGreaterThanOrEqual(reply.deliverAt);
        const bad = await client.request({ op: 'publish', topic, data: 1, delayMs: -5 });
        expect(bad).toMatchObject({
          ok: false,
          error: { code: 'bad_request', message: expect.stringMatching(/delayMs/) },
        });
        const both = await client.request({
          op: 'publish',
          topic,
          data: 1,
          delayMs: 5,
          deliverAt: Date.now(),
        });
        expect(both).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      } finally {
        client.close();
      }
    });
  },
);
