/**
 * Consumer groups over WebSocket, for every engine: `subscribe` with `group` makes a connection a
 * push member; deliveries carry `group` and `attempt`; `ack`/`nack` ops settle them; a member that
 * leaves hands what it held to the others; bad acks change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTopic, type Json, until } from '../push/support/util.js';
import { connectWs, type WsClient } from '../push/support/ws-client.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

describe.each(ENGINE_FIXTURES)('WebSocket consumer groups: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await server.close();
    fixture.cleanup();
  });

  const publish = async (topic: string, count: number) => {
    const batch = Array.from({ length: count }, (_, i) => ({ data: { i: i + 1 } }));
    expect((await post(`${server.url}/v1/topics/${topic}/messages`, batch)).status).toBe(201);
  };
  const state = async (topic: string, group: string) =>
    json(await fetch(`${server.url}/v1/topics/${topic}/groups/${group}`));
  /** A connection that joined `group` on `topic`. */
  const member = async (topic: string, group = 'g', window?: number): Promise<WsClient> => {
    const client = await connectWs(server.url);
    clients.push(client);
    const reply = await client.request({ op: 'subscribe', topic, group, ...(window ? { window } : {}) });
    expect(reply).toMatchObject({ ok: true, topic, group, window: window ?? 16, member: expect.any(String) });
    return client;
  };
  const deliveries = (client: WsClient, topic: string, group = 'g'): Json[] =>
    client.messages(topic).filter((frame) => frame.group === group);
  const offsetsOf = (frames: Json[]): number[] => frames.map((frame) => frame.offset);

  it('delivers each message to exactly one member, with group and attempt, and acks settle', async () => {
    const topic = freshTopic();
    const members = [await member(topic), await member(topic), await member(topic)];
    await publish(topic, 30);
    await until(() => members.reduce((n, m) => n + deliveries(m, topic).length, 0) >= 30);
    const all = members.flatMap((m) => offsetsOf(deliveries(m, topic)));
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const first = members.flatMap((m) => deliveries(m, topic)).find((frame) => frame.offset === 1);
    expect(first).toEqual({
      op: 'message',
      topic,
      offset: 1,
      time: expect.any(Number),
      data: { i: 1 },
      group: 'g',
      attempt: 1,
    });
    for (const client of members) {
      const offsets = offsetsOf(deliveries(client, topic));
      if (offsets.length === 0) continue;
      const reply = await client.request({ op: 'ack', topic, group: 'g', offsets });
      expect(reply).toEqual({
        op: 'reply',
        id: reply.id,
        ok: true,
        topic,
        group: 'g',
        acked: offsets,
        committed: expect.any(Number),
      });
    }
    expect(await state(topic, 'g')).toMatchObject({ committed: 30, pending: 0, lag: 0 });
    // Nothing acked comes back.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(members.flatMap((m) => deliveries(m, topic))).toHaveLength(30);
  });

  it('redelivers a nacked message with attempt + 1, after delayMs when given', async () => {
    const topic = freshTopic();
    const client = await member(topic);
    await publish(topic, 1);
    await client.next((f) => f.op === 'message' && f.topic === topic);
    const nacked = await client.request({ op: 'nack', topic, group: 'g', offsets: [1], error: 'busy' });
    expect(nacked).toMatchObject({ ok: true, topic, group: 'g', nacked: [1], committed: 0 });
    const second = await client.next((f) => f.op === 'message' && f.topic === topic && f.attempt === 2);
    expect(second).toMatchObject({ offset: 1, group: 'g', attempt: 2 });
    const nackedAt = Date.now();
    await client.request({ op: 'nack', topic, group: 'g', offsets: [1], delayMs: 300 });
    await client.next((f) => f.op === 'message' && f.topic === topic && f.attempt === 3);
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(280);
  });

  it('hands a disconnected member’s in-flight messages to the others within a second', async () => {
    const topic = freshTopic();
    const leaving = await member(topic);
    await publish(topic, 5);
    await until(() => deliveries(leaving, topic).length === 5);
    const staying = await member(topic);
    leaving.close();
    const closedAt = Date.now();
    await until(() => deliveries(staying, topic).length === 5, 5_000, 'redelivery to the other member');
    expect(Date.now() - closedAt).toBeLessThan(1_000);
    expect(deliveries(staying, topic).map((f) => f.attempt)).toEqual([2, 2, 2, 2, 2]);
  });

  it('releases on unsubscribe: the reply comes once the others can claim', async () => {
    const topic = freshTopic();
    const leaving = await member(topic);
    await publish(topic, 3);
    await until(() => deliveries(leaving, topic).length === 3);
    const staying = await member(topic);
    expect(await leaving.request({ op: 'unsubscribe', topic, group: 'g' })).toMatchObject({
      ok: true,
      topic,
      group: 'g',
    });
    await until(() => deliveries(staying, topic).length === 3);
    expect((await leaving.request({ op: 'unsubscribe', topic, group: 'g' })).error.code).toBe('not_found');
    // An ack from the member that left is refused: the messages are someone else's now.
    const stale = await leaving.request({ op: 'ack', topic, group: 'g', offsets: [1] });
    expect(stale.error.code).toBe('conflict');
  });

  it('gives a fast member more than a slow one (per-member window)', async () => {
    const topic = freshTopic();
    const fast = await member(topic, 'g', 2);
    const slow = await member(topic, 'g', 2);
    const ackAfter = (client: WsClient, delayMs: number) =>
      client.ws.on('message', (data) => {
        const frame = JSON.parse(String(data));
        if (frame.op !== 'message' || frame.topic !== topic) return;
        const ack = () =>
          client.send({ op: 'ack', id: 1e6 + frame.offset, topic, group: 'g', offsets: [frame.offset] });
        if (delayMs === 0) ack();
        else setTimeout(ack, delayMs);
      });
    ackAfter(fast, 0);
    ackAfter(slow, 150);
    await publish(topic, 40);
    await until(async () => (await state(topic, 'g')).committed === 40, 10_000, 'all 40 acked');
    const fastCount = deliveries(fast, topic).length;
    const slowCount = deliveries(slow, topic).length;
    expect(fastCount + slowCount).toBe(40);
    expect(fastCount).toBeGreaterThan(slowCount * 2);
  });

  it('refuses bad acks with error replies and changes nothing', async () => {
    const topic = freshTopic();
    const a = await member(topic, 'g', 2);
    await publish(topic, 4);
    await until(() => deliveries(a, topic).length === 2);
    const b = await member(topic, 'g', 2);
    await until(() => deliveries(b, topic).length === 2);
    const [a1, a2] = offsetsOf(deliveries(a, topic));
    const [b1] = offsetsOf(deliveries(b, topic));
    expect((await a.request({ op: 'ack', topic, group: 'g', offsets: [a1] })).ok).toBe(true);
    const before = await state(topic, 'g');

    const refusals: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ offsets: [99] }, 'bad_request', /99/], // never handed out
      [{ offsets: [a1] }, 'conflict', /already/], // double ack
      [{ offsets: [b1] }, 'conflict', /leased to member/], // another member's lease
      [{ offsets: [a2, b1] }, 'conflict', /nothing was/], // all or nothing
      [{ group: 'other' }, 'conflict', /not a member of group "other"/],
      [{ offsets: [a2, a2] }, 'bad_request', /twice|more than once|duplicate/],
      [{ group: 'bad group' }, 'bad_request', /group/],
    ];
    for (const [fields, code, message] of refusals) {
      const reply = await a.request({ op: 'ack', topic, group: 'g', offsets: [a2], ...fields });
      expect(reply.error?.code, JSON.stringify(fields)).toBe(code);
      expect(reply.error.message).toMatch(message);
    }
    const nack = await a.request({ op: 'nack', topic, group: 'g', offsets: [b1] });
    expect(nack.error.code).toBe('conflict');
    expect(await state(topic, 'g')).toEqual({ ...before, members: expect.any(Array) });
    // The refused offsets are still a's to settle.
    expect(await a.request({ op: 'ack', topic, group: 'g', offsets: [a2] })).toMatchObject({ acked: [a2] });
  });

  it('leases deliveries for the leaseMs the member asked for, then redelivers them', async () => {
    const topic = freshTopic();
    const slow = await connectWs(server.url);
    clients.push(slow);
    const reply = await slow.request({ op: 'subscribe', topic, group: 'g', window: 1, leaseMs: 300 });
    expect(reply).toMatchObject({ ok: true, window: 1, leaseMs: 300 });
    await publish(topic, 1);
    // Never acked: after 300 ms the lease runs out and the same member gets it again, attempt 2.
    await until(() => deliveries(slow, topic).length >= 2, 5_000);
    expect(deliveries(slow, topic).map((frame) => [frame.offset, frame.attempt])).toEqual([
      [1, 1],
      [1, 2],
    ]);
  });

  it('refuses bad group subscribes', async () => {
    const topic = freshTopic();
    const client = await member(topic);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ group: 'g' }, 'conflict'], // already a member
      [{ group: 'g2', after: 0 }, 'bad_request'],
      [{ group: 'g2', window: 1_001 }, 'bad_request'],
      [{ group: 'g2', window: 0 }, 'bad_request'],
      [{ group: 'g2', leaseMs: 0 }, 'bad_request'],
      [{ leaseMs: 5_000 }, 'bad_request'], // a lease without a group
      [{ group: 'no spaces' }, 'bad_request'],
    ];
    for (const [fields, code] of cases) {
      const reply = await client.request({ op: 'subscribe', topic, ...fields });
      expect(reply.error?.code, JSON.stringify(fields)).toBe(code);
    }
    // A plain subscription and another group on the same topic live beside the membership.
    expect(await client.request({ op: 'subscribe', topic })).toMatchObject({ ok: true });
    expect(await client.request({ op: 'subscribe', topic, group: 'g2', window: 1 })).toMatchObject({
      ok: true,
    });
    await publish(topic, 1);
    await until(() => client.messages(topic).length === 3); // plain, g, g2
    expect(
      client
        .messages(topic)
        .map((f) => f.group ?? 'plain')
        .sort(),
    ).toEqual(['g', 'g2', 'plain']);
  });
});
