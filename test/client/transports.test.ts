/**
 * The transport contract, one scenario list run over every transport forced in turn (centrifuge's
 * `test.each(transportCases)`): replay then live in the contract's shape, live start, async
 * iteration, unsubscribe, gap and reset.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GapEvent, Message, ResetEvent } from '../../src/client/index.js';
import type { TestServer } from '../support/server.js';
import {
  memoryServer,
  offsets,
  publishMany,
  range,
  recordedClient,
  TRANSPORT_NAMES,
  uniqueTopic,
  waitFor,
} from './support.js';

let server: TestServer;
beforeAll(async () => {
  // Small retention so a gap is easy to make.
  server = await memoryServer({ retention: { maxCount: 5, maxAgeMs: 3_600_000, rules: [] } });
});
afterAll(() => server.close());

describe.each(TRANSPORT_NAMES)('%s transport', (via) => {
  test('replays then delivers live, each offset once, in the contract shape', async () => {
    const { client } = recordedClient(server.url, { transports: via });
    const topic = uniqueTopic();
    await client.publish(topic, { n: 1 }, { event: 'created' });
    const got: Message[] = [];
    client.subscribe(topic, { after: 0, onMessage: (m) => got.push(m) });
    await client.ready();
    await client.publish(topic, 'two');
    // A message may be named like a control event; it is still a message.
    await client.publish(topic, [3], { event: 'gap' });
    await waitFor('3 messages', () => got.length >= 3);
    expect(client.transport).toBe(via);
    expect(got.map(({ time: _time, ...rest }) => rest)).toEqual([
      { topic, offset: 1, event: 'created', data: { n: 1 } },
      { topic, offset: 2, data: 'two' },
      { topic, offset: 3, event: 'gap', data: [3] },
    ]);
    expect(typeof got[0]!.time).toBe('number');
    client.close();
  });

  test('without after, starts live; async iteration yields messages and break unsubscribes', async () => {
    const { client } = recordedClient(server.url, { transports: via });
    const topic = uniqueTopic();
    await client.publish(topic, 'old');
    const subscription = client.subscribe(topic);
    const started = new Promise((resolve) => subscription.on('started', resolve));
    await started;
    await client.publish(topic, 'new-1');
    await client.publish(topic, 'new-2');
    const seen: unknown[] = [];
    for await (const message of subscription) {
      seen.push(message.data);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['new-1', 'new-2']);
    expect(subscription.active).toBe(false);
    expect(await subscription.closed).toBeUndefined();
    client.close();
  });

  test('unsubscribe stops delivery', async () => {
    const { client } = recordedClient(server.url, { transports: via });
    const topic = uniqueTopic();
    const got: number[] = [];
    const subscription = client.subscribe(topic, { after: 0, onMessage: (m) => got.push(m.offset) });
    await client.publish(topic, 1);
    await waitFor('first message', () => got.length === 1);
    subscription.unsubscribe();
    await client.publish(topic, 2);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(got).toEqual([1]);
    client.close();
  });

  test('surfaces a gap when retention removed messages, then continues after it', async () => {
    const { client } = recordedClient(server.url, { transports: via });
    const topic = uniqueTopic();
    await publishMany(server.url, topic, 12); // retention keeps offsets 8..12
    const gaps: GapEvent[] = [];
    const got: Message[] = [];
    const subscription = client.subscribe(topic, { after: 2, onMessage: (m) => got.push(m) });
    subscription.on('gap', (gap) => gaps.push(gap));
    await waitFor('retained messages', () => got.length === 5);
    expect(gaps).toEqual([{ topic, after: 2, next: 7 }]);
    expect(offsets(got)).toEqual(range(8, 12));
    client.close();
  });

  test('restarts at offset 1 (reset) when the topic was deleted and recreated', async () => {
    const { client } = recordedClient(server.url, { transports: via });
    const topic = uniqueTopic();
    await publishMany(server.url, topic, 3);
    const got: Message[] = [];
    const subscription = client.subscribe(topic, { after: 0, onMessage: (m) => got.push(m) });
    await waitFor('first log', () => got.length === 3);
    const firstEpoch = subscription.epoch;
    client.close(); // offline while the topic is recreated, as after a wiped store
    await fetch(`${server.url}/v1/topics/${topic}`, { method: 'DELETE' });
    await publishMany(server.url, topic, 2, 100);
    const { client: again } = recordedClient(server.url, { transports: via });
    const resets: ResetEvent[] = [];
    const resumed: Message[] = [];
    const next = again.subscribe(topic, {
      after: 3,
      epoch: firstEpoch ?? undefined,
      onMessage: (m) => resumed.push(m),
    });
    next.on('reset', (reset) => resets.push(reset));
    await waitFor('new log', () => resumed.length === 2);
    expect(resets).toHaveLength(1);
    expect(resets[0]!.previous.after).toBe(3);
    expect(resets[0]!.epoch).not.toBe(firstEpoch);
    expect(resumed.map((m) => [m.offset, m.data])).toEqual([
      [1, { n: 100 }],
      [2, { n: 101 }],
    ]);
    again.close();
  });
});

test('a refused topic ends only its own subscription, with a typed error', async () => {
  const { client } = recordedClient(server.url, { transports: 'sse' });
  expect(() => client.subscribe('bad..name')).toThrow(/topic "bad..name" is invalid/);
  const topic = uniqueTopic();
  expect(() => {
    client.subscribe(topic);
    client.subscribe(topic);
  }).toThrow(/already subscribes/);
  client.close();
});
