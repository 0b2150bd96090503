/** Request-response, short polling and long polling over real HTTP, for every engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

describe.each(ENGINE_FIXTURES)('HTTP publish and fetch: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let base: string;

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture, { maxMessageBytes: 1_024, maxBodyBytes: 8_192 });
    base = `${server.url}/v1/topics`;
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  it('publishes an envelope and answers 201 with the offset', async () => {
    const response = await post(`${base}/orders/messages`, { data: { id: 1 }, event: 'created' });
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body).toEqual({ topic: 'orders', offset: 1, time: expect.any(Number), duplicate: false });
  });

  it('publishes text/plain as a string and fetches the exact message shape', async () => {
    const response = await post(`${base}/text/messages`, 'hello there', 'text/plain; charset=utf-8');
    expect(response.status).toBe(201);
    const fetched = await json(await fetch(`${base}/text/messages?after=0`));
    expect(fetched).toEqual({
      topic: 'text',
      epoch: expect.any(String),
      messages: [{ topic: 'text', offset: 1, time: expect.any(Number), data: 'hello there' }],
      next: 1,
      first: 1,
      last: 1,
      gap: false,
      reset: false,
    });
  });

  it('keeps numbers and data exactly as sent', async () => {
    await post(`${base}/exact/messages`, '{"data":{"n":12345678901234567890.10,"e":1E3}}');
    const text = await (await fetch(`${base}/exact/messages`)).text();
    expect(text).toContain('"data":{"n":12345678901234567890.10,"e":1E3}');
  });

  it('publishes an atomic, ordered batch', async () => {
    const response = await post(`${base}/batch/messages`, [
      { data: 1 },
      { data: 2, event: 'two' },
      { data: 3 },
    ]);
    expect(response.status).toBe(201);
    expect(await json(response)).toMatchObject({
      topic: 'batch',
      offsets: [1, 2, 3],
      duplicates: [false, false, false],
    });
    const fetched = await json(await fetch(`${base}/batch/messages?after=1&limit=1`));
    expect(fetched.messages).toEqual([
      { topic: 'batch', offset: 2, time: expect.any(Number), event: 'two', data: 2 },
    ]);
    expect(fetched.next).toBe(2);
  });

  it('deduplicates by idempotency key: 200 with the original offset', async () => {
    const first = await json(await post(`${base}/idem/messages`, { data: 'a', idempotencyKey: 'order-7' }));
    const repeat = await post(`${base}/idem/messages`, { data: 'a', idempotencyKey: 'order-7' });
    expect(repeat.status).toBe(200);
    expect(await json(repeat)).toMatchObject({ offset: first.offset, duplicate: true });
    const log = await json(await fetch(`${base}/idem/messages`));
    expect(log.messages).toHaveLength(1);
  });

  it('short polls with after and limit, and lists topic stats', async () => {
    for (let i = 0; i < 5; i++) await post(`${base}/poll/messages`, { data: i });
    const page = await json(await fetch(`${base}/poll/messages?after=2&limit=2`));
    expect(page.messages.map((m: { offset: number }) => m.offset)).toEqual([3, 4]);
    expect(page).toMatchObject({ next: 4, first: 1, last: 5 });
    const stats = await json(await fetch(`${base}/poll`));
    expect(stats).toMatchObject({ topic: 'poll', first: 1, last: 5, count: 5, subscribers: {} });
    const list = await json(await fetch(`${base}`));
    expect(list.topics.map((t: { topic: string }) => t.topic)).toContain('poll');
  });

  it('long polls: held until a publish, answered within milliseconds', async () => {
    const started = Date.now();
    const held = fetch(`${base}/lp/messages?after=0&wait=10`).then(json);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stats = await json(await fetch(`${base}/lp`).catch(() => ({ json: () => ({}) }) as never));
    expect(stats.error?.code ?? 'none').toBe('not_found'); // no topic yet, the poll is still held
    const publishedAt = Date.now();
    await post(`${base}/lp/messages`, { data: 'wake' });
    const answer = await held;
    expect(answer.messages.map((m: { data: unknown }) => m.data)).toEqual(['wake']);
    expect(Date.now() - publishedAt).toBeLessThan(500);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('long polls: an empty wait answers 200 with no messages and the same cursor', async () => {
    await post(`${base}/quiet/messages`, { data: 1 });
    const answer = await json(await fetch(`${base}/quiet/messages?after=1&wait=1`));
    expect(answer).toMatchObject({ messages: [], next: 1, last: 1 });
  });

  it('long polls: a client that goes away releases the held request at once', async () => {
    const hub = server.server.hub;
    const controllers = Array.from({ length: 50 }, () => new AbortController());
    const polls = controllers.map((c) =>
      fetch(`${base}/gone/messages?wait=30`, { signal: c.signal }).catch(() => undefined),
    );
    await expect.poll(() => hub.heldRequests, { timeout: 5_000 }).toBe(50);
    for (const c of controllers) c.abort();
    await Promise.all(polls);
    await expect.poll(() => hub.heldRequests, { timeout: 5_000 }).toBe(0);
  });
});

describe.each(ENGINE_FIXTURES)('HTTP bad input: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let base: string;

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture, { maxMessageBytes: 1_024, maxBodyBytes: 8_192 });
    base = `${server.url}/v1/topics`;
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  const expectError = async (response: Response, status: number, code: string, message: RegExp) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = await json(response);
    expect(body).toEqual({ error: { code, message: expect.stringMatching(message) } });
  };

  it('answers each bad publish with the contract error and stores nothing', async () => {
    const t = `${base}/bad/messages`;
    await expectError(await post(t, '{"data":'), 400, 'bad_request', /not valid JSON/);
    await expectError(
      await post(t, `{"data":${'['.repeat(65)}${']'.repeat(65)}}`),
      400,
      'bad_request',
      /deeper than 64/,
    );
    await expectError(
      await post(t, 'x', 'application/xml'),
      415,
      'unsupported_media_type',
      /application\/json/,
    );
    await expectError(await post(t, ''), 400, 'bad_request', /empty/);
    await expectError(await post(t, { data: 'x'.repeat(2_000) }), 413, 'payload_too_large', /limit is 1024/);
    await expectError(await post(t, { data: 'x'.repeat(9_000) }), 413, 'payload_too_large', /maxBodyBytes/);
    await expectError(
      await post(t, { data: 1, event: 'bad event' }),
      400,
      'bad_request',
      /event "bad event"/,
    );
    await expectError(await post(t, { data: 1, idempotencyKey: 5 }), 400, 'bad_request', /idempotencyKey/);
    await expectError(await post(t, { value: 1 }), 400, 'bad_request', /unknown field "value"/);
    await expectError(await post(t, [{ data: 1 }, 2]), 400, 'bad_request', /batch element 1/);
    await expectError(
      await post(`${base}/a..b/messages`, { data: 1 }),
      400,
      'bad_request',
      /topic "a..b" is invalid/,
    );
    const after = await json(await fetch(`${base}/bad/messages`));
    expect(after.last).toBe(0);
  });

  it('answers bad cursors and ranges with 400 naming the parameter', async () => {
    const t = `${base}/q/messages`;
    await expectError(await fetch(`${t}?after=-1`), 400, 'bad_request', /after=-1 is invalid/);
    await expectError(await fetch(`${t}?after=abc`), 400, 'bad_request', /after=abc/);
    await expectError(await fetch(`${t}?after=1.5`), 400, 'bad_request', /after=1.5/);
    await expectError(await fetch(`${t}?limit=0`), 400, 'bad_request', /limit=0 .* from 1 to 1000/);
    await expectError(await fetch(`${t}?limit=1001`), 400, 'bad_request', /limit=1001/);
    await expectError(await fetch(`${t}?wait=61`), 400, 'bad_request', /wait=61 .* from 0 to 60/);
    await expectError(await fetch(`${t}?after=1&after=2`), 400, 'bad_request', /after was given 2 times/);
  });

  it('answers unknown routes and topics with 404 JSON', async () => {
    await expectError(await fetch(`${server.url}/nope`), 404, 'not_found', /no route GET \/nope/);
    await expectError(await fetch(`${base}/never-published`), 404, 'not_found', /does not exist/);
    await expectError(await fetch(`${base}/x/messages`, { method: 'PUT' }), 404, 'not_found', /no route PUT/);
  });

  it('refuses browser requests from origins that are not allowed, even text/plain', async () => {
    const response = await fetch(`${base}/csrf/messages`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://evil.example' },
      body: 'pwned',
    });
    await expectError(response, 403, 'forbidden', /Origin http:\/\/evil.example is not allowed/);
    const same = await fetch(`${base}/csrf/messages`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: server.url },
      body: 'fine',
    });
    expect(same.status).toBe(201);
    expect(same.headers.get('access-control-allow-origin')).toBe(server.url);
    expect((await json(await fetch(`${base}/csrf/messages`))).last).toBe(1);
  });

  it('refuses unknown Host headers on a loopback bind (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/healthz`, { headers: { host: 'attacker.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it("answers malformed HTTP that Node would answer bodyless with the contract's JSON", async () => {
    const { connect } = await import('node:net');
    const raw = (payload: string) =>
      new Promise<string>((resolve) => {
        const url = new URL(server.url);
        const socket = connect(Number(url.port), url.hostname, () => socket.write(payload));
        let answer = '';
        socket.on('data', (chunk) => {
          answer += chunk.toString();
        });
        socket.on('close', () => resolve(answer));
        socket.on('error', () => resolve(answer));
      });
    const garbage = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1.1 400/);
    expect(garbage).toContain('{"error":{"code":"bad_request"');
    const huge = await raw(
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1.1 431/);
    expect(huge).toContain('maxHeaderBytes');
    // The server is still up.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('serves health and readiness', async () => {
    expect(await json(await fetch(`${server.url}/healthz`))).toEqual({ status: 'ok' });
    expect(await json(await fetch(`${server.url}/readyz`))).toMatchObject({ status: 'ready' });
  });
});
