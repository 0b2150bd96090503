/**
 * Competing consumers through the SDK: ack when the handler resolves, nack (and a redelivery with
 * attempt + 1) when it throws, work shared between members; over HTTP long-poll claims and over
 * WebSocket group membership (which falls back to HTTP on a server without it).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GroupMessage } from '../../src/client/index.js';
import type { TestServer } from '../support/server.js';
import { memoryServer, publishMany, range, recordedClient, uniqueTopic, waitFor } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await memoryServer();
});
afterAll(() => server.close());

async function groupState(topic: string, group: string): Promise<{ committed: number; pending: number }> {
  return (await fetch(`${server.url}/v1/topics/${topic}/groups/${group}`)).json() as Promise<{
    committed: number;
    pending: number;
  }>;
}

describe.each(['http', 'websocket'] as const)('group consume over %s', (via) => {
  test('acks on success, nacks on throw; the nacked message comes back with attempt 2', async () => {
    const { client } = recordedClient(server.url, { transports: via === 'http' ? 'poll' : 'websocket' });
    const topic = uniqueTopic();
    await publishMany(server.url, topic, 5);
    const seen: Array<[number, number]> = [];
    const outcomes: boolean[] = [];
    const consumer = client.group(topic, 'workers').consume(
      async (message: GroupMessage<{ n: number }>) => {
        seen.push([message.offset, message.attempt]);
        if (message.offset === 3 && message.attempt === 1) throw new Error('flaky downstream');
      },
      { via: via === 'http' ? 'http' : 'auto', waitSeconds: 2 },
    );
    consumer.on('settled', (event) => outcomes.push(event.ok));
    await waitFor('all settled', () => outcomes.filter(Boolean).length === 5);
    expect(seen.filter(([offset]) => offset !== 3).map(([, attempt]) => attempt)).toEqual([1, 1, 1, 1]);
    expect(seen.filter(([offset]) => offset === 3)).toEqual([
      [3, 1],
      [3, 2],
    ]);
    expect(outcomes.filter((ok) => !ok)).toHaveLength(1);
    expect(await groupState(topic, 'workers')).toMatchObject({ committed: 5, pending: 0 });
    await consumer.stop();
    expect(await consumer.closed).toBeUndefined();
    client.close();
  });
});

test('two consumers share the work: each message handled once in all', async () => {
  const topic = uniqueTopic();
  const a = recordedClient(server.url, { transports: 'poll' }).client;
  const b = recordedClient(server.url, { transports: 'websocket' }).client;
  const handled = new Map<number, string>();
  const take = (who: string) => async (message: GroupMessage) => {
    if (handled.has(message.offset)) throw new Error(`offset ${message.offset} handled twice`);
    handled.set(message.offset, who);
    await new Promise((resolve) => setTimeout(resolve, 2));
  };
  const consumers = [
    a.group(topic, 'shared').consume(take('a'), { concurrency: 4, waitSeconds: 2 }),
    b.group(topic, 'shared').consume(take('b'), { concurrency: 4, waitSeconds: 2 }),
  ];
  await publishMany(server.url, topic, 60);
  await waitFor('60 handled', () => handled.size === 60, 10_000);
  expect([...handled.keys()].sort((x, y) => x - y)).toEqual(range(1, 60));
  await Promise.all(consumers.map((c) => c.stop()));
  a.close();
  b.close();
});

test('a refused group (bad name) ends the consumer with the typed error', async () => {
  const { client } = recordedClient(server.url, { transports: 'poll' });
  const consumer = client.group(uniqueTopic(), 'bad name!').consume(() => {});
  const error = (await consumer.closed) as Error & { code?: string };
  expect(error.code).toBe('bad_request');
  client.close();
});
