/** The live feed through the embeddable API (`hub.subscribe`), for every engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../../src/core/hub.js';
import type { Message } from '../../src/protocol/message.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { freshTopic, until } from './support/util.js';

describe.each(ENGINE_FIXTURES)('hub.subscribe (live feed): $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let hub: Hub;

  beforeAll(async () => {
    fixture = makeFixture();
    const engine = fixture.create();
    await engine.open();
    hub = createHub({ engine, retentionRules: [{ pattern: 'short', maxCount: 3 }] });
  });
  afterAll(async () => {
    await hub.close();
    fixture.cleanup();
  });

  it('replays after a cursor, then delivers live, as plain messages', async () => {
    const topic = freshTopic();
    await hub.publish(topic, { n: 1 });
    await hub.publish(topic, { n: 2 }, { event: 'second' });
    const received: Message[] = [];
    const subscription = hub.subscribe(topic, { after: 0, onMessage: (m) => received.push(m) });
    await hub.publish(topic, { n: 3 });
    await until(() => received.length === 3, 5_000, 'three messages');
    expect(received).toEqual([
      { topic, offset: 1, time: expect.any(Number), data: { n: 1 } },
      { topic, offset: 2, time: expect.any(Number), event: 'second', data: { n: 2 } },
      { topic, offset: 3, time: expect.any(Number), data: { n: 3 } },
    ]);
    expect(subscription.cursor).toBe(3);
    subscription.unsubscribe();
    await hub.publish(topic, { n: 4 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(received).toHaveLength(3);
  });

  it('starts live without a cursor, and counts in-process subscribers', async () => {
    const topic = freshTopic();
    await hub.publish(topic, 'before');
    const received: unknown[] = [];
    const subscription = hub.subscribe(topic, { onMessage: (m) => received.push(m.data) });
    await until(() => subscription.cursor === 1, 5_000, 'the subscription to start');
    expect((await hub.topic(topic)).subscribers).toEqual({ 'in-process': 1 });
    await hub.publish(topic, 'after');
    await until(() => received.length === 1, 5_000, 'one message');
    expect(received).toEqual(['after']);
    subscription.unsubscribe();
    expect((await hub.topic(topic)).subscribers).toEqual({});
  });

  it('reports a gap instead of skipping silently', async () => {
    const gaps: unknown[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < 5; i++) await hub.publish('short', i); // keeps the newest 3
    const subscription = hub.subscribe('short', {
      after: 0,
      onMessage: (m) => offsets.push(m.offset),
      onGap: (notice) => gaps.push(notice),
    });
    await until(() => offsets.length === 3, 5_000, 'three messages');
    expect(gaps).toEqual([{ topic: 'short', after: 0, next: 2 }]);
    expect(offsets).toEqual([3, 4, 5]);
    subscription.unsubscribe();
  });

  it('tells a live subscriber about a recreated topic (reset) and follows the new log', async () => {
    const topic = freshTopic();
    await hub.publish(topic, 'old-1');
    const resets: unknown[] = [];
    const received: Array<[number, unknown]> = [];
    const subscription = hub.subscribe(topic, {
      after: 0,
      onMessage: (m) => received.push([m.offset, m.data]),
      onReset: (notice) => resets.push(notice),
    });
    await until(() => received.length === 1, 5_000, 'the first message');
    await hub.deleteTopic(topic);
    await hub.publish(topic, 'new-1');
    await hub.publish(topic, 'new-2');
    await until(() => received.length === 3, 5_000, 'the new log');
    expect(resets).toEqual([{ topic, epoch: expect.any(String), last: expect.any(Number) }]);
    expect(received).toEqual([
      [1, 'old-1'],
      [1, 'new-1'],
      [2, 'new-2'],
    ]);
    subscription.unsubscribe();
  });

  it('keeps delivering to others when one callback throws, and reports the error', async () => {
    const topic = freshTopic();
    const errors: unknown[] = [];
    const good: number[] = [];
    const bad = hub.subscribe(topic, {
      onMessage: () => {
        throw new Error('boom');
      },
      onError: (error) => errors.push(error),
    });
    const fine = hub.subscribe(topic, { onMessage: (m) => good.push(m.offset) });
    await until(() => bad.cursor === 0 && fine.cursor === 0, 5_000, 'both to start');
    await hub.publish(topic, 1);
    await hub.publish(topic, 2);
    await until(() => good.length === 2, 5_000, 'two messages');
    expect(errors).toHaveLength(2);
    bad.unsubscribe();
    fine.unsubscribe();
  });
});
