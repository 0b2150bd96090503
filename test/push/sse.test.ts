/** Server-Sent Events over real HTTP, for every engine: replay, live, resume, named events, gap, reset. */
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { collectMessages, openSse } from './support/sse-client.js';
import { freshTopic, publishMany, until } from './support/util.js';

describe.each(ENGINE_FIXTURES)('SSE: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture, {
      sseRetryMs: 50,
      retention: { maxCount: 5, maxAgeMs: 3_600_000, rules: [{ pattern: 'long.>', maxCount: 10_000 }] },
      allowedOrigins: ['https://app.example'],
    });
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  const long = (): string => freshTopic('long.t');

  it('replays after N with exact frames, then streams live', async () => {
    const topic = long();
    await publishMany(url, topic, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    const sse = await openSse(`${url}/v1/topics/${topic}/events?after=1`);
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(sse.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(sse.headers.get('x-accel-buffering')).toBe('no');
    await collectMessages(sse, 2);
    await post(`${url}/v1/topics/${topic}/messages`, { data: { n: 4 } });
    const messages = await collectMessages(sse, 3);
    expect(messages.map((m) => m.data.n)).toEqual([2, 3, 4]);
    const [retry, ready, first] = sse.frames;
    expect(retry).toEqual({ retry: 50, comments: [] });
    expect(ready!.event).toBe('ready');
    expect(ready!.id).toBe('1');
    expect(JSON.parse(ready!.data!)).toEqual({
      topics: [{ topic, epoch: expect.any(String), last: 3, after: 1 }],
    });
    expect(first).toEqual({
      id: '2',
      data: JSON.stringify({ topic, offset: 2, time: messages[0].time, data: { n: 2 } }),
      comments: [],
    });
    sse.close();
  });

  it('starts live without a cursor, and counts the subscriber in topic stats until it leaves', async () => {
    const topic = long();
    await publishMany(url, topic, ['old']);
    const sse = await openSse(`${url}/v1/topics/${topic}/events`);
    await sse.next((f) => f.event === 'ready');
    expect((await json(await fetch(`${url}/v1/topics/${topic}`))).subscribers).toEqual({ sse: 1 });
    await publishMany(url, topic, ['new']);
    const messages = await collectMessages(sse, 1);
    expect(messages.map((m) => m.data)).toEqual(['new']);
    sse.close();
    await until(
      async () => {
        const stats = await json(await fetch(`${url}/v1/topics/${topic}`));
        return Object.keys(stats.subscribers).length === 0;
      },
      5_000,
      'the subscriber count to drop',
    );
  });

  it('lets Last-Event-ID win over after', async () => {
    const topic = long();
    await publishMany(url, topic, [1, 2, 3, 4]);
    const sse = await openSse(`${url}/v1/topics/${topic}/events?after=0`, { 'last-event-id': '3' });
    expect((await collectMessages(sse, 1)).map((m) => m.offset)).toEqual([4]);
    sse.close();
  });

  it('names events only for messages that have one, and keeps multi-line data valid', async () => {
    const topic = long();
    await post(`${url}/v1/topics/${topic}/messages`, { data: 'plain' });
    await post(`${url}/v1/topics/${topic}/messages`, '{"event":"shipped","data":{\n"id":\r\n7}}');
    const sse = await openSse(`${url}/v1/topics/${topic}/events?after=0`);
    const named = await sse.next((f) => f.event === 'shipped');
    expect(named.id).toBe('2');
    expect(JSON.parse(named.data!)).toMatchObject({ event: 'shipped', data: { id: 7 } });
    expect(sse.text()).toContain('event: shipped\ndata: {"topic"');
    const plain = sse.frames.find((f) => f.id === '1')!;
    expect(plain.event).toBeUndefined();
    sse.close();
  });

  it('sends event: gap when the cursor is older than retention, then continues', async () => {
    const topic = freshTopic('short');
    await publishMany(url, topic, [1, 2, 3, 4, 5, 6, 7, 8]); // keeps 4..8
    const sse = await openSse(`${url}/v1/topics/${topic}/events?after=1`);
    const gap = await sse.next((f) => f.event === 'gap');
    expect(JSON.parse(gap.data!)).toEqual({ topic, after: 1, next: 3 });
    expect(gap.id).toBe('3');
    expect((await collectMessages(sse, 5)).map((m) => m.offset)).toEqual([4, 5, 6, 7, 8]);
    sse.close();
  });

  it('sends event: reset for a cursor past the log end, then replays the log from offset 1', async () => {
    const topic = long();
    await publishMany(url, topic, ['a', 'b']);
    const sse = await openSse(`${url}/v1/topics/${topic}/events`, { 'last-event-id': '99' });
    const reset = await sse.next((f) => f.event === 'reset');
    expect(JSON.parse(reset.data!)).toEqual({ topic, epoch: expect.any(String), last: 2 });
    expect(reset.id).toBe('0');
    expect((await collectMessages(sse, 2)).map((m) => m.offset)).toEqual([1, 2]);
    sse.close();
  });

  it('streams several topics with ids that resume every topic exactly', async () => {
    const [a, b] = [long(), long()];
    await publishMany(url, a, ['a1']);
    const first = await openSse(`${url}/v1/events?topic=${a}&topic=${b}`);
    const ready = await first.next((f) => f.event === 'ready');
    expect(ready.id).toBe(`${a}:1,${b}:0`);
    await publishMany(url, b, ['b1']);
    await publishMany(url, a, ['a2']);
    await collectMessages(first, 2);
    const lastId = first.frames.at(-1)!.id!;
    expect(lastId).toBe(`${a}:2,${b}:1`);
    first.close();
    await publishMany(url, b, ['b2', 'b3']);
    await publishMany(url, a, ['a3']);
    const second = await openSse(`${url}/v1/events?topic=${a}&topic=${b}`, { 'last-event-id': lastId });
    const resumed = await collectMessages(second, 3);
    expect(resumed.map((m) => `${m.topic === a ? 'a' : 'b'}${m.offset}`).sort()).toEqual(['a3', 'b2', 'b3']);
    second.close();
  });

  it('resumes a real EventSource across a dropped connection with no gap and no duplicate', async () => {
    const topic = long();
    await publishMany(url, topic, [1, 2, 3]);
    const lastEventIds: Array<string | null> = [];
    let connections = 0;
    // Cut the first connection after it has delivered two messages; EventSource reconnects by itself.
    const cuttingFetch: typeof fetch = async (input, init) => {
      lastEventIds.push(new Headers(init?.headers).get('last-event-id'));
      const response = await fetch(input, init);
      if (++connections > 1 || !response.body) return response;
      let seen = 0;
      const cut = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(chunk);
          seen += (new TextDecoder().decode(chunk).match(/^id: \d+\ndata:/gm) ?? []).length;
          if (seen >= 2) controller.terminate();
        },
      });
      return new Response(response.body.pipeThrough(cut), response);
    };
    const source = new EventSource(`${url}/v1/topics/${topic}/events?after=0`, { fetch: cuttingFetch });
    const offsets: number[] = [];
    source.onmessage = (event) => offsets.push(JSON.parse(event.data).offset);
    try {
      await until(() => offsets.length >= 2 && connections >= 2, 5_000, 'the reconnect');
      await publishMany(url, topic, [4, 5]);
      await until(() => offsets.length >= 5, 5_000, 'five messages');
      expect(offsets).toEqual([1, 2, 3, 4, 5]);
      expect(lastEventIds[0]).toBeNull();
      expect(Number(lastEventIds[1])).toBeGreaterThanOrEqual(1);
    } finally {
      source.close();
    }
  });

  it('answers bad input with the contract error JSON before streaming', async () => {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['/v1/topics/bad..name/events', {}, /topic "bad..name" is invalid/],
      ['/v1/topics/ok/events?after=-1', {}, /after=-1 is invalid/],
      ['/v1/topics/ok/events?after=1.5', {}, /after=1.5 is invalid/],
      ['/v1/topics/ok/events', { 'last-event-id': 'x' }, /Last-Event-ID=x is invalid/],
      ['/v1/events', {}, /name the topics to stream/],
      ['/v1/events?topic=a&topic=b', { 'last-event-id': 'a:1,b' }, /cursor "a:1,b" is invalid/],
    ];
    for (const [path, headers, message] of cases) {
      const response = await fetch(`${url}${path}`, { headers });
      expect(response.status, path).toBe(400);
      const body = await json(response);
      expect(body.error.code).toBe('bad_request');
      expect(body.error.message).toMatch(message);
    }
  });

  it('sends CORS headers to allowed origins and refuses others', async () => {
    const topic = long();
    const sse = await openSse(`${url}/v1/topics/${topic}/events`, { origin: 'https://app.example' });
    expect(sse.headers.get('access-control-allow-origin')).toBe('https://app.example');
    sse.close();
    const refused = await fetch(`${url}/v1/topics/${topic}/events`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(refused.status).toBe(403);
  });
});
