import { afterEach, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../../src/core/hub.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('hub', () => {
  let hub: Hub;
  afterEach(async () => hub?.close());

  it('reports gap when the cursor is older than retention, and reset when it is past the end or from another epoch', async () => {
    hub = createHub({ engine: createMemoryEngine(), retention: { maxCount: 2, maxAgeMs: 60_000 } });
    for (let i = 1; i <= 5; i++) await hub.publish('t', i);
    const gap = await hub.fetch('t', { after: 1, limit: 10 });
    expect(gap).toMatchObject({ gap: true, reset: false, first: 4, last: 5, next: 5 });
    expect(gap.messages.map((m) => m.offset)).toEqual([4, 5]);
    expect(await hub.fetch('t', { after: 3, limit: 10 })).toMatchObject({ gap: false });
    expect(await hub.fetch('t', { after: 9, limit: 10 })).toMatchObject({
      reset: true,
      next: 0,
      messages: [],
    });
    const epoch = gap.epoch!;
    expect(await hub.fetch('t', { after: 4, limit: 10, epoch })).toMatchObject({ reset: false });
    expect(await hub.fetch('t', { after: 4, limit: 10, epoch: 'other' })).toMatchObject({ reset: true });
    expect(await hub.fetch('never', { after: 0, limit: 10 })).toMatchObject({
      epoch: null,
      reset: false,
      next: 0,
    });
  });

  it('shares identical reads within an event-loop turn, but never past an append or the turn', async () => {
    hub = createHub({ engine: createMemoryEngine() });
    await hub.publish('turn', 1);
    const [a, b] = await Promise.all([
      hub.fetch('turn', { after: 0, limit: 10 }),
      hub.fetch('turn', { after: 0, limit: 10 }),
    ]);
    // One engine read (one array, hence one serialized body downstream) for both.
    expect(a.messages).toBe(b.messages);
    const again = await hub.fetch('turn', { after: 0, limit: 10 });
    expect(again.messages).toBe(a.messages); // still the same turn
    // A publish in the same turn drops the shared read: a later read sees it.
    await hub.publish('turn', 2);
    const afterPublish = await hub.fetch('turn', { after: 0, limit: 10 });
    expect(afterPublish.messages.map((m) => m.data)).toEqual(['1', '2']);
    // The next turn reads afresh.
    await new Promise((resolve) => setImmediate(resolve));
    const nextTurn = await hub.fetch('turn', { after: 0, limit: 10 });
    expect(nextTurn.messages).not.toBe(afterPublish.messages);
    expect(nextTurn.messages.map((m) => m.data)).toEqual(['1', '2']);
    // So does a deleted topic.
    await hub.deleteTopic('turn');
    expect((await hub.fetch('turn', { after: 0, limit: 10 })).messages).toEqual([]);
  });

  it('wakes a long poll within milliseconds of the publish that satisfies it', async () => {
    hub = createHub({ engine: createMemoryEngine() });
    const started = Date.now();
    const waiting = hub.fetchOrWait('lp', { after: 0, limit: 10, waitMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(hub.heldRequests).toBe(1);
    await hub.publish('lp', 'hello');
    const answer = await waiting;
    expect(answer.messages.map((m) => m.data)).toEqual(['"hello"']);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(hub.heldRequests).toBe(0);
  });

  it('answers an empty long poll after its wait with the cursor unchanged', async () => {
    hub = createHub({ engine: createMemoryEngine() });
    await hub.publish('quiet', 1);
    const answer = await hub.fetchOrWait('quiet', { after: 1, limit: 10, waitMs: 50 });
    expect(answer).toMatchObject({ messages: [], next: 1 });
  });

  it('leaves no waiter or timer behind after 10,000 abandoned long polls', async () => {
    hub = createHub({ engine: createMemoryEngine() });
    const before = timers();
    const polls = Array.from({ length: 10_000 }, () => {
      const gone = new AbortController();
      return {
        gone,
        answer: hub.fetchOrWait('abandoned', {
          after: 0,
          limit: 10,
          waitMs: 60_000,
          signal: gone.signal,
          transport: 'longpoll',
        }),
      };
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hub.heldRequests).toBe(10_000);
    expect((await hub.topics()).length).toBe(0);
    for (const poll of polls) poll.gone.abort();
    await Promise.all(polls.map((p) => p.answer));
    expect(hub.heldRequests).toBe(0);
    expect(timers()).toBeLessThanOrEqual(before);
    await hub.publish('abandoned', 1);
    expect((await hub.topic('abandoned')).subscribers).toEqual({});
  });

  it('answers held long polls on drain and refuses publishes while draining', async () => {
    hub = createHub({ engine: createMemoryEngine() });
    const waiting = hub.fetchOrWait('d', { after: 0, limit: 10, waitMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    hub.drain();
    expect(await waiting).toMatchObject({ messages: [], next: 0 });
    await expect(hub.publish('d', 1)).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('enforces the message size limit with a message that names the limit', async () => {
    hub = createHub({ engine: createMemoryEngine(), limits: { maxMessageBytes: 10 } });
    await expect(hub.publish('big', 'x'.repeat(20))).rejects.toMatchObject({
      code: 'payload_too_large',
      message: expect.stringMatching(/22 bytes; the limit is 10/),
    });
  });

  it('applies per-pattern retention rules, first match wins', () => {
    hub = createHub({
      engine: createMemoryEngine(),
      retentionRules: [
        { pattern: 'logs.>', maxCount: 5 },
        { pattern: '>', maxAgeMs: 1 },
      ],
    });
    expect(hub.retentionFor('logs.app')).toEqual({ maxCount: 5, maxAgeMs: 7 * 24 * 3_600_000 });
    expect(hub.retentionFor('other')).toEqual({ maxCount: 10_000, maxAgeMs: 1 });
  });
});
