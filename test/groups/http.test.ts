/** Consumer groups over real HTTP, for every engine: each endpoint, and bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

describe.each(ENGINE_FIXTURES)('HTTP consumer groups: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let base: string;

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture);
    base = `${server.url}/v1/topics`;
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  const publish = async (topic: string, count: number) => {
    for (let i = 1; i <= count; i++)
      expect((await post(`${base}/${topic}/messages`, { data: { i } })).status).toBe(201);
  };
  const claim = (topic: string, group: string, query = '') =>
    fetch(`${base}/${topic}/groups/${group}/claim${query}`, { method: 'POST' });
  const state = async (topic: string, group: string) => json(await fetch(`${base}/${topic}/groups/${group}`));
  const expectError = async (response: Response, status: number, message: RegExp) => {
    expect(response.status).toBe(status);
    const body = await json(response);
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.message).toMatch(message);
  };

  it('claims with attempt and lease, acks, and reports the state', async () => {
    await publish('orders', 3);
    const response = await claim('orders', 'workers', '?max=2&member=w1');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json(response)).toEqual({
      topic: 'orders',
      group: 'workers',
      member: 'w1',
      leaseMs: 30_000,
      messages: [
        { topic: 'orders', offset: 1, time: expect.any(Number), data: { i: 1 }, attempt: 1 },
        { topic: 'orders', offset: 2, time: expect.any(Number), data: { i: 2 }, attempt: 1 },
      ],
    });
    const acked = await post(`${base}/orders/groups/workers/ack`, { offsets: [1, 2], member: 'w1' });
    expect(acked.status).toBe(200);
    expect(await json(acked)).toEqual({ acked: [1, 2], committed: 2 });
    expect(await state('orders', 'workers')).toMatchObject({
      topic: 'orders',
      group: 'workers',
      start: 'earliest',
      maxAttempts: 5,
      committed: 2,
      delivered: 2,
      pending: 0,
      last: 3,
      lag: 1,
      members: [{ member: 'w1', pending: 0, lastSeen: expect.any(Number) }],
    });
  });

  it('holds a claim with wait until a publish', async () => {
    const held = claim('lp', 'g', '?wait=10');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await publish('lp', 1);
    const body = await json(await held);
    expect(body.messages.map((m: { offset: number }) => m.offset)).toEqual([1]);
    expect(body.member).toMatch(/^anonymous-/);
  });

  it('answers an empty wait with no messages, and lets a client that leaves go at once', async () => {
    const empty = await json(await claim('idle', 'g', '?wait=1'));
    expect(empty.messages).toEqual([]);
    const abort = new AbortController();
    const gone = claim('idle', 'g', '?wait=30');
    void gone.catch(() => undefined);
    const leaving = fetch(`${base}/idle/groups/g/claim?wait=30`, { method: 'POST', signal: abort.signal });
    void leaving.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.server.hub.groups.heldClaims).toBe(2);
    abort.abort();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.server.hub.groups.heldClaims).toBe(1);
    await publish('idle', 1);
    expect((await json(await gone)).messages).toHaveLength(1);
  });

  it('nacks with a delay and error; the message comes back with attempt 2', async () => {
    await publish('retry', 1);
    await claim('retry', 'g', '?member=a');
    const nacked = await post(`${base}/retry/groups/g/nack`, {
      offsets: [1],
      delayMs: 100,
      error: 'db down',
    });
    expect(await json(nacked)).toEqual({ nacked: [1], committed: 0 });
    expect((await json(await claim('retry', 'g'))).messages).toEqual([]);
    const again = await json(await claim('retry', 'g', '?wait=5&member=b'));
    expect(again.messages).toMatchObject([{ offset: 1, attempt: 2 }]);
  });

  it('creates a group explicitly with PUT (start=latest, maxAttempts), lists and deletes groups', async () => {
    await publish('created', 2);
    const put = await fetch(`${base}/created/groups/late`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ start: 'latest', maxAttempts: 2 }),
    });
    expect(put.status).toBe(201);
    expect(await json(put)).toMatchObject({
      created: true,
      start: 'latest',
      maxAttempts: 2,
      committed: 2,
      lag: 0,
    });
    const again = await fetch(`${base}/created/groups/late`, { method: 'PUT' });
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ created: false, start: 'latest', maxAttempts: 2 });
    await claim('created', 'early', '?start=earliest&maxAttempts=3');
    const list = await json(await fetch(`${base}/created/groups`));
    expect(list.topic).toBe('created');
    expect(list.groups.map((g: { group: string; maxAttempts: number }) => [g.group, g.maxAttempts])).toEqual([
      ['early', 3],
      ['late', 2],
    ]);
    expect((await fetch(`${base}/created/groups/late`, { method: 'DELETE' })).status).toBe(204);
    await expectError(
      await fetch(`${base}/created/groups/late`, { method: 'DELETE' }),
      404,
      /does not exist/,
    );
    expect((await json(await fetch(`${base}/never/groups`))).groups).toEqual([]);
  });

  it('dead-letters over HTTP after maxAttempts', async () => {
    await publish('poison', 1);
    for (let i = 0; i < 2; i++) {
      await claim('poison', 'g', '?maxAttempts=2&member=m');
      await post(`${base}/poison/groups/g/nack`, { offsets: [1], error: 'cannot parse', member: 'm' });
    }
    expect((await json(await claim('poison', 'g'))).messages).toEqual([]);
    const dead = await json(await fetch(`${base}/poison.dead-letter/messages`));
    expect(dead.messages[0].data).toEqual({
      topic: 'poison',
      offset: 1,
      group: 'g',
      attempts: 2,
      error: 'cannot parse',
      data: { i: 1 },
    });
  });

  it('answers bad input with contract errors and leaves the group state unchanged', async () => {
    await publish('bad', 2);
    await claim('bad', 'g', '?max=1&member=holder&leaseMs=60000');
    const before = await state('bad', 'g');
    const g = `${base}/bad/groups/g`;
    const cases: Array<[() => Promise<Response>, number, RegExp]> = [
      [() => claim('bad', 'g', '?max=0'), 400, /max=0 is invalid: send a whole number from 1 to 100/],
      [() => claim('bad', 'g', '?max=101'), 400, /max=101/],
      [() => claim('bad', 'g', '?wait=61'), 400, /wait=61 is invalid/],
      [() => claim('bad', 'g', '?wait=-1'), 400, /wait/],
      [() => claim('bad', 'g', '?wait=1.5'), 400, /wait/],
      [() => claim('bad', 'g', '?leaseMs=10'), 400, /leaseMs/],
      [() => claim('bad', 'g', '?max=1&max=2'), 400, /max was given 2 times/],
      [() => claim('bad', 'g', '?member=no%20spaces'), 400, /member "no spaces" is invalid/],
      [() => claim('bad', 'g', '?start=middle'), 400, /start "middle" is invalid/],
      [() => claim('bad', 'bad.group', ''), 400, /group "bad.group" is invalid/],
      [() => claim('bad..topic', 'g', ''), 400, /topic/],
      [() => post(`${g}/ack`, 'not json'), 400, /.+/],
      [() => post(`${g}/ack`, 'offsets', 'text/plain'), 400, /Content-Type: application\/json/],
      [() => post(`${g}/ack`, [1]), 400, /JSON object/],
      [() => post(`${g}/ack`, {}), 400, /offsets must be a non-empty array/],
      [() => post(`${g}/ack`, { offsets: ['1'] }), 400, /offset "1" is invalid/],
      [() => post(`${g}/ack`, { offsets: [2] }), 400, /offset 2 was never delivered to this group/],
      [() => post(`${g}/ack`, { offsets: [1, 2] }), 400, /offset 2 was never delivered/],
      [() => post(`${g}/ack`, { offsets: [1], member: 'other' }), 409, /leased to member "holder"/],
      [() => post(`${g}/ack?member=other`, { offsets: [1] }), 409, /leased to member "holder"/],
      [() => post(`${g}/nack`, { offsets: [1], delayMs: 'soon' }), 400, /delayMs "soon" is invalid/],
      [() => post(`${g}/nack`, { offsets: [1], error: 42 }), 400, /error must be a string/],
      [() => post(`${base}/bad/groups/nope/ack`, { offsets: [1] }), 404, /group "nope" does not exist/],
      [() => fetch(`${base}/bad/groups/nope`), 404, /group "nope" does not exist/],
      [
        () =>
          fetch(g, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: '{"start":"soon"}',
          }),
        400,
        /start "soon"/,
      ],
    ];
    for (const [call, status, message] of cases) await expectError(await call(), status, message);
    expect(await state('bad', 'g')).toEqual(before);
  });

  it('refuses an ack after the lease passed to another member, and a second ack', async () => {
    await publish('stale', 1);
    await claim('stale', 'g', '?member=slow&leaseMs=100');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await json(await claim('stale', 'g', '?member=fast'))).messages).toMatchObject([{ attempt: 2 }]);
    await expectError(
      await post(`${base}/stale/groups/g/ack`, { offsets: [1], member: 'slow' }),
      409,
      /offset 1 is leased to member "fast" now \(your lease passed and it was redelivered\)/,
    );
    expect((await post(`${base}/stale/groups/g/ack`, { offsets: [1], member: 'fast' })).status).toBe(200);
    await expectError(
      await post(`${base}/stale/groups/g/ack`, { offsets: [1] }),
      409,
      /offset 1 is no longer in flight \(already acked, or dead-lettered\)/,
    );
  });
});
