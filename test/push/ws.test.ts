/** WebSocket push over a real server, for every engine: subscribe, replay, live, publish, replies by id. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, startServer, type TestServer } from '../support/server.js';
import { freshTopic, publishMany, until } from './support/util.js';
import { connectWs, waitForMessages } from './support/ws-client.js';

describe.each(ENGINE_FIXTURES)('WebSocket: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture, {
      retention: { maxCount: 5, maxAgeMs: 3_600_000, rules: [{ pattern: 'long.>', maxCount: 10_000 }] },
    });
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  const long = (): string => freshTopic('long.t');

  it('subscribes with after: the reply (epoch, last) comes first, then replay, then live', async () => {
    const topic = long();
    await publishMany(url, topic, ['a', 'b', 'c']);
    const client = await connectWs(url);
    const reply = await client.request({ op: 'subscribe', topic, after: 1 });
    expect(reply).toEqual({
      op: 'reply',
      id: reply.id,
      ok: true,
      topic,
      epoch: expect.any(String),
      last: 3,
      after: 1,
    });
    await publishMany(url, topic, ['d']);
    const messages = await waitForMessages(client, 3, topic);
    expect(messages.map((m) => m.data)).toEqual(['b', 'c', 'd']);
    expect(messages[0]).toEqual({ op: 'message', topic, offset: 2, time: expect.any(Number), data: 'b' });
    expect(client.frames.indexOf(reply)).toBeLessThan(client.frames.indexOf(messages[0]));
    client.close();
  });

  it('starts live without after, and carries event names', async () => {
    const topic = long();
    await publishMany(url, topic, ['old']);
    const client = await connectWs(url);
    expect((await client.request({ op: 'subscribe', topic })).last).toBe(1);
    await publishMany(url, topic, ['new'], 'created');
    const [message] = await waitForMessages(client, 1, topic);
    expect(message).toEqual({
      op: 'message',
      topic,
      offset: 2,
      time: expect.any(Number),
      event: 'created',
      data: 'new',
    });
    client.close();
  });

  it('matches replies by id and serves several topics on one connection', async () => {
    const [a, b] = [long(), long()];
    const client = await connectWs(url);
    client.send({ op: 'subscribe', id: 101, topic: a });
    client.send({ op: 'subscribe', id: 102, topic: b });
    const replies = await Promise.all([
      client.next((f) => f.op === 'reply' && f.id === 101),
      client.next((f) => f.op === 'reply' && f.id === 102),
    ]);
    expect(replies.map((r) => [r.ok, r.topic])).toEqual([
      [true, a],
      [true, b],
    ]);
    await publishMany(url, a, ['a1']);
    await publishMany(url, b, ['b1']);
    expect((await waitForMessages(client, 1, a))[0].data).toBe('a1');
    expect((await waitForMessages(client, 1, b))[0].data).toBe('b1');
    client.close();
  });

  it('publishes over the socket, keeps data as sent, and delivers own messages', async () => {
    const topic = long();
    const client = await connectWs(url);
    await client.request({ op: 'subscribe', topic });
    client.send(
      `{"op":"publish","id":7,"topic":"${topic}","data":{"n":1.50,"big":12345678901234567890},"event":"e1","idempotencyKey":"k1"}`,
    );
    const reply = await client.next((f) => f.op === 'reply' && f.id === 7);
    expect(reply).toEqual({
      op: 'reply',
      id: 7,
      ok: true,
      topic,
      offset: 1,
      time: expect.any(Number),
      duplicate: false,
    });
    await waitForMessages(client, 1, topic);
    expect(client.raw.find((text) => text.startsWith('{"op":"message"'))).toContain(
      '"data":{"n":1.50,"big":12345678901234567890}',
    );
    const again = await client.request({ op: 'publish', topic, data: 'x', idempotencyKey: 'k1' });
    expect(again).toMatchObject({ ok: true, offset: 1, duplicate: true });
    expect(client.messages(topic)).toHaveLength(1);
    client.close();
  });

  it('stops delivery after unsubscribe, and refuses double subscribe / unknown unsubscribe', async () => {
    const topic = long();
    const client = await connectWs(url);
    await client.request({ op: 'subscribe', topic });
    const twice = await client.request({ op: 'subscribe', topic, after: 0 });
    expect(twice.error).toEqual({ code: 'conflict', message: expect.stringContaining('already subscribes') });
    expect(await client.request({ op: 'unsubscribe', topic })).toMatchObject({ ok: true, topic });
    const unknown = await client.request({ op: 'unsubscribe', topic });
    expect(unknown.error.code).toBe('not_found');
    await publishMany(url, topic, ['after unsubscribe']);
    await client.request({ op: 'subscribe', topic: long() }); // a round trip after the publish
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.messages(topic)).toHaveLength(0);
    client.close();
  });

  it('sends gap and reset frames without offsets', async () => {
    const short = freshTopic('short');
    await publishMany(url, short, [1, 2, 3, 4, 5, 6, 7, 8]);
    const client = await connectWs(url);
    await client.request({ op: 'subscribe', topic: short, after: 1 });
    expect(await client.next((f) => f.op === 'gap')).toEqual({ op: 'gap', topic: short, after: 1, next: 3 });
    expect((await waitForMessages(client, 5, short)).map((m) => m.offset)).toEqual([4, 5, 6, 7, 8]);

    const topic = long();
    await publishMany(url, topic, ['x']);
    await client.request({ op: 'subscribe', topic, after: 1, epoch: 'another-epoch' });
    const reset = await client.next((f) => f.op === 'reset');
    expect(reset).toEqual({ op: 'reset', topic, epoch: expect.any(String), last: 1 });
    expect((await waitForMessages(client, 1, topic))[0].offset).toBe(1);
    client.close();
  });

  it('counts websocket subscribers in topic stats and releases them on close', async () => {
    const topic = long();
    await publishMany(url, topic, ['x']);
    const clients = await Promise.all([connectWs(url), connectWs(url)]);
    for (const client of clients) await client.request({ op: 'subscribe', topic });
    expect((await json(await fetch(`${url}/v1/topics/${topic}`))).subscribers).toEqual({ websocket: 2 });
    for (const client of clients) client.close();
    await until(
      async () => {
        const stats = await json(await fetch(`${url}/v1/topics/${topic}`));
        return Object.keys(stats.subscribers).length === 0;
      },
      5_000,
      'subscribers to be released',
    );
  });

  it('answers the auth op in open mode and takes group ops (test/groups/ws.test.ts has the rest)', async () => {
    const client = await connectWs(url);
    expect(await client.request({ op: 'auth', token: 'anything' })).toMatchObject({ ok: true, mode: 'open' });
    const topic = long();
    expect(await client.request({ op: 'subscribe', topic, group: 'workers' })).toMatchObject({
      ok: true,
      topic,
      group: 'workers',
      window: 16,
    });
    const ack = await client.request({ op: 'ack', topic, group: 'workers', offsets: [1] });
    expect(ack.error.code).toBe('bad_request'); // never handed out: the topic is empty
    client.close();
  });
});
