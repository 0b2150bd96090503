/**
 * The long-poll held path after issue 16: one answer body per (topic, cursor, limit) shared by every
 * poll woken together, timeouts on shared deadline slots (never early, at most a slot late), and
 * the coalesced re-check never missing a publish that lands while polls register.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub } from '../../src/core/hub.js';
import { DEADLINE_SLOT_MS, WaiterRegistry } from '../../src/core/waiters.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { fetchAnswerBody } from '../../src/patterns/shared/fetch-json.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

const memory = { name: 'memory', create: () => createMemoryEngine(), cleanup: () => {} };

describe('long-poll answers', () => {
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    server = await startServer(memory);
    base = `${server.url}/v1/topics`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('wakes 200 held polls with one identical, correct body; other cursors get their own', async () => {
    await post(`${base}/wide/messages`, { data: 'first' });
    const held = Array.from({ length: 200 }, () => fetch(`${base}/wide/messages?after=1&wait=10`));
    const behind = fetch(`${base}/wide/messages?after=0&wait=10`); // answered at once: offset 1 exists
    await expect.poll(() => server.server.hub.heldRequests, { timeout: 10_000 }).toBe(200);
    await post(`${base}/wide/messages`, { data: 'second' });
    const answers = await Promise.all(held);
    const texts = await Promise.all(answers.map((a) => a.text()));
    expect(new Set(texts).size).toBe(1);
    expect(answers[0]!.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answers[0]!.headers.get('cache-control')).toBe('no-store');
    const answer = JSON.parse(texts[0]!);
    expect(answer).toMatchObject({ topic: 'wide', next: 2, first: 1, last: 2, gap: false, reset: false });
    expect(answer.messages.map((m: { data: unknown }) => m.data)).toEqual(['second']);
    const early = await json(await behind);
    expect(early.messages.map((m: { data: unknown }) => m.data)).toEqual(['first']);
  });

  it('answers a reset cursor and a stale epoch at once, not with a shared body of another cursor', async () => {
    await post(`${base}/epochs/messages`, { data: 1 });
    const ahead = await json(await fetch(`${base}/epochs/messages?after=99&wait=5`));
    expect(ahead).toMatchObject({ reset: true, next: 0, messages: [] });
    const stale = await json(await fetch(`${base}/epochs/messages?after=1&epoch=nope&wait=5`));
    expect(stale).toMatchObject({ reset: true, next: 0 });
  });
});

describe('shared bodies and deadline slots (in process)', () => {
  it('gives callers of one read the same Buffer, and a different one for another cursor', async () => {
    const hub = createHub({ engine: createMemoryEngine() });
    try {
      await hub.publish('t', { n: 1 });
      // Issued in the same turn: one coalesced read behind both.
      const [a, b] = await Promise.all([
        hub.fetch('t', { after: 0, limit: 10 }),
        hub.fetch('t', { after: 0, limit: 10 }),
      ]);
      expect(a).not.toBe(b);
      expect(fetchAnswerBody(a)).toBe(fetchAnswerBody(b));
      const c = await hub.fetch('t', { after: 1, limit: 10 });
      expect(JSON.parse(fetchAnswerBody(c).toString())).toMatchObject({ messages: [], next: 1, last: 1 });
      const empty = await hub.fetch('other', { after: 0, limit: 10 });
      expect(JSON.parse(fetchAnswerBody(empty).toString()).topic).toBe('other');
    } finally {
      await hub.close();
    }
  });

  it('times a wait out never early and at most one slot late, with one timer for many waiters', async () => {
    const registry = new WaiterRegistry();
    const started = performance.now();
    const waits = Array.from({ length: 100 }, () => registry.wait('t', 0, 200).promise);
    expect(registry.size).toBe(100);
    const outcomes = await Promise.all(waits);
    const elapsed = performance.now() - started;
    expect(new Set(outcomes)).toEqual(new Set(['timeout']));
    expect(elapsed).toBeGreaterThanOrEqual(199);
    expect(elapsed).toBeLessThan(200 + DEADLINE_SLOT_MS + 3_000); // generous: 2 cores shared by many
    expect(registry.size).toBe(0);
  });

  it('wakes, aborts and shuts down each waiter exactly once', async () => {
    const registry = new WaiterRegistry();
    const woken = registry.wait('t', 1, 60_000);
    const behind = registry.wait('t', 5, 60_000);
    const controller = new AbortController();
    const aborted = registry.wait('u', 1, 60_000, controller.signal);
    registry.appended('t', 2);
    expect(await woken.promise).toBe('data');
    controller.abort();
    expect(await aborted.promise).toBe('aborted');
    expect(registry.size).toBe(1);
    registry.releaseAll();
    expect(await behind.promise).toBe('shutdown');
    behind.wake(); // already finished: no effect, no throw
    expect(registry.size).toBe(0);
  });

  it('does not miss a publish that lands while many polls register', async () => {
    const hub = createHub({ engine: createMemoryEngine() });
    try {
      await hub.publish('race', 0);
      const polls = Array.from({ length: 50 }, () =>
        hub.fetchOrWait('race', { after: 1, limit: 10, waitMs: 5_000 }),
      );
      const published = hub.publish('race', 1); // lands among the registrations
      await published;
      const answers = await Promise.race([
        Promise.all(polls),
        new Promise<'missed'>((resolve) => setTimeout(() => resolve('missed'), 2_000)),
      ]);
      expect(answers).not.toBe('missed');
      for (const answer of answers as Awaited<(typeof polls)[0]>[]) expect(answer.next).toBe(2);
    } finally {
      await hub.close();
    }
  });

  it('hub.poll: polls woken together share one answer object; fetchOrWait callers get their own', async () => {
    const hub = createHub({ engine: createMemoryEngine() });
    try {
      await hub.publish('shared', 0);
      const answers: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        hub.poll('shared', { after: 1, limit: 10, waitMs: 5_000 }, (error, result) => {
          expect(error).toBeUndefined();
          answers.push(result);
        });
      }
      const own = hub.fetchOrWait('shared', { after: 1, limit: 10, waitMs: 5_000 });
      await expect.poll(() => hub.heldRequests).toBe(4);
      await hub.publish('shared', 1);
      const mine = await own;
      expect(answers).toHaveLength(3);
      expect(answers[1]).toBe(answers[0]);
      expect(answers[2]).toBe(answers[0]);
      expect(mine).not.toBe(answers[0]);
      expect(mine).toEqual(answers[0]);
      expect(mine).toMatchObject({ next: 2, last: 2, gap: false, reset: false });
      // wait=0 through the same path: answered at once.
      let sync: unknown;
      hub.poll('shared', { after: 1, limit: 10, waitMs: 0 }, (_error, result) => {
        sync = result;
      });
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(sync).toMatchObject({ next: 2 });
    } finally {
      await hub.close();
    }
  });

  it('hub.poll: a store failure, a bad topic and the waiter limit are reported, never thrown', async () => {
    const engine = createMemoryEngine();
    const hub = createHub({ engine, limits: { maxWaiters: 1 } });
    try {
      const outcome = (topic: string, waitMs: number) =>
        new Promise<{ error: unknown; result: unknown }>((resolve) => {
          hub.poll(topic, { after: 0, limit: 10, waitMs }, (error, result) => resolve({ error, result }));
        });
      expect((await outcome('bad topic!', 0)).error).toMatchObject({ status: 400 });
      const held = outcome('one', 60_000);
      await expect.poll(() => hub.heldRequests).toBe(1);
      expect((await outcome('two', 60_000)).error).toMatchObject({ status: 503 });
      const read = engine.read.bind(engine);
      engine.read = async () => {
        throw new Error('disk on fire');
      };
      expect((await outcome('three', 0)).error).toMatchObject({ status: 503 });
      engine.read = read;
      hub.drain();
      expect((await held).result).toMatchObject({ messages: [], next: 0 });
    } finally {
      await hub.close();
    }
  });

  it('hub.poll: a publish whose wake-up fires before a poll registers is not missed', async () => {
    const engine = createMemoryEngine();
    const hub = createHub({ engine });
    try {
      await hub.publish('late', 0);
      // The poll's read takes its snapshot now but answers only after the publish below has
      // appended and signalled, so the wake-up comes before the poll is held.
      const read = engine.read.bind(engine);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      engine.read = async (...args) => {
        const result = await read(...args);
        await gate;
        return result;
      };
      const answered = new Promise<unknown>((resolve) => {
        hub.poll('late', { after: 1, limit: 10, waitMs: 5_000 }, (_error, result) => resolve(result));
      });
      await hub.publish('late', 1);
      await new Promise((resolve) => setImmediate(resolve)); // the append's wake-up has fired
      engine.read = read;
      release();
      const answer = await Promise.race([
        answered,
        new Promise((resolve) => setTimeout(() => resolve('missed'), 2_000)),
      ]);
      expect(answer).toMatchObject({ next: 2, messages: [{ offset: 2 }] });
    } finally {
      await hub.close();
    }
  });
});
