/**
 * Request-reply over HTTP and WebSocket, on every engine: the request is a normal message with
 * `replyTo`, the first reply wins (409 after), unknown inboxes are 404, a request without a reply
 * times out at its deadline with 504, a caller that leaves closes its inbox, and a consumer group
 * spreads requests over its responders. Clients: Node's fetch and the `ws` package.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { WsClient } from './ws-client.js';

const UNKNOWN_INBOX = '_inbox.AAAAAAAAAAAAAAAAAAAAAAAA';

describe.each(ENGINE_FIXTURES)('request-reply over HTTP and WebSocket ($name)', ({ fixture }) => {
  let engines: EngineFixture;
  let server: TestServer;

  beforeAll(async () => {
    engines = fixture();
    server = await startServer(engines, { engine: 'memory', maxMessageBytes: 1_024 });
  });
  afterAll(async () => {
    await server?.close();
    engines?.cleanup();
  });

  it('delivers the request with replyTo; the first reply answers the caller, a second gets 409', async () => {
    const responder = await WsClient.open(server.url);
    const sub = responder.send({ op: 'subscribe', topic: 'rpc.echo' });
    expect((await responder.reply(sub)).ok).toBe(true);

    const pending = post(`${server.url}/v1/topics/rpc.echo/requests?timeout=5`, {
      data: { n: 1 },
      event: 'ask',
    });
    const request = await responder.next((f) => f.op === 'message');
    expect(request).toMatchObject({ topic: 'rpc.echo', event: 'ask', data: { n: 1 } });
    expect(request.replyTo).toMatch(/^_inbox\.[A-Za-z0-9_-]{24}$/);

    const first = await post(`${server.url}/v1/replies/${request.replyTo}`, '{"data":{"echoed":[1,2.50]}}');
    expect(first.status).toBe(204);
    const answer = await pending;
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(text).toContain('"reply":{"echoed":[1,2.50]}'); // the reply's JSON exactly as sent
    expect(JSON.parse(text)).toMatchObject({
      topic: 'rpc.echo',
      offset: request.offset,
      replyTo: request.replyTo,
    });

    const second = await post(`${server.url}/v1/replies/${request.replyTo}`, { data: 'again' });
    expect(second.status).toBe(409);
    expect((await json(second)).error.code).toBe('conflict');

    // The request stays in the log as a normal message, replyTo included.
    const log = await json(await fetch(`${server.url}/v1/topics/rpc.echo/messages`));
    expect(log.messages[0]).toMatchObject({ offset: request.offset, replyTo: request.replyTo });
    responder.close();
  });

  it('answers 404 for an unknown or malformed inbox, 400/413 for bad replies', async () => {
    for (const inbox of [UNKNOWN_INBOX, 'nope', '_inbox.short']) {
      const response = await post(`${server.url}/v1/replies/${inbox}`, { data: 1 });
      expect(response.status).toBe(404);
      expect((await json(response)).error.code).toBe('not_found');
    }
    expect((await post(`${server.url}/v1/replies/${UNKNOWN_INBOX}`, { nodata: 1 })).status).toBe(400);
    const big = await post(`${server.url}/v1/replies/${UNKNOWN_INBOX}`, { data: 'x'.repeat(2_000) });
    expect(big.status).toBe(413);
  });

  it('refuses bad requests with 400 and system topics with 403', async () => {
    const url = `${server.url}/v1/topics/rpc.bad/requests`;
    for (const query of ['?timeout=0', '?timeout=61', '?timeout=1.5', '?timeout=x']) {
      const response = await post(url + query, { data: 1 });
      expect(response.status, query).toBe(400);
    }
    expect((await post(url, [{ data: 1 }, { data: 2 }])).status).toBe(400);
    expect((await post(url, { data: 1, delayMs: 100 })).status).toBe(400);
    expect((await post(url, { data: 1, nope: 1 })).status).toBe(400);
    const system = await post(`${server.url}/v1/topics/jobs.x/requests?timeout=1`, { data: 1 });
    expect(system.status).toBe(403);
    expect(server.server.hub.requests.pending).toBe(0);
  });

  it('times out at the deadline with 504, frees the inbox, and a late reply gets 409', async () => {
    const started = Date.now();
    const response = await post(
      `${server.url}/v1/topics/rpc.nobody/requests?timeout=1`,
      'hello?',
      'text/plain',
    );
    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect((await json(response)).error.code).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(2_500);
    expect(server.server.hub.requests.pending).toBe(0);
    const log = await json(await fetch(`${server.url}/v1/topics/rpc.nobody/messages`));
    expect(log.messages[0].data).toBe('hello?');
    const late = await post(`${server.url}/v1/replies/${log.messages[0].replyTo}`, { data: 'too late' });
    expect(late.status).toBe(409);
  });

  it('WebSocket request and respond ops; a caller that disconnects closes its inbox at once', async () => {
    const responder = await WsClient.open(server.url);
    const caller = await WsClient.open(server.url);
    expect((await responder.reply(responder.send({ op: 'subscribe', topic: 'rpc.ws' }))).ok).toBe(true);

    const requestId = caller.send({ op: 'request', topic: 'rpc.ws', data: { q: 'ping' }, timeoutMs: 5_000 });
    const request = await responder.next((f) => f.op === 'message');
    const respondId = responder.send({ op: 'respond', replyTo: request.replyTo, data: { a: 'pong' } });
    expect(await responder.reply(respondId)).toMatchObject({ ok: true, replyTo: request.replyTo });
    expect(await caller.reply(requestId)).toMatchObject({
      ok: true,
      topic: 'rpc.ws',
      offset: request.offset,
      replyTo: request.replyTo,
      reply: { a: 'pong' },
    });
    const again = await responder.reply(responder.send({ op: 'respond', replyTo: request.replyTo, data: 1 }));
    expect(again).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const unknown = await responder.reply(responder.send({ op: 'respond', replyTo: UNKNOWN_INBOX, data: 1 }));
    expect(unknown).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const timedOut = await caller.reply(
      caller.send({ op: 'request', topic: 'rpc.ws', data: 1, timeoutMs: 200 }),
    );
    expect(timedOut).toMatchObject({ ok: false, error: { code: 'timeout' } });
    await responder.next((f) => f.op === 'message'); // that request was delivered too
    const badTimeout = await caller.reply(
      caller.send({ op: 'request', topic: 'rpc.ws', data: 1, timeoutMs: 60_001 }),
    );
    expect(badTimeout).toMatchObject({ ok: false, error: { code: 'bad_request' } });

    // The caller leaves while waiting: its inbox closes now, not at the deadline.
    caller.send({ op: 'request', topic: 'rpc.ws', data: 'bye', timeoutMs: 30_000 });
    const orphan = await responder.next((f) => f.op === 'message' && f.data === 'bye');
    caller.close();
    const deadline = Date.now() + 2_000;
    while (server.server.hub.requests.pending > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(server.server.hub.requests.pending).toBe(0);
    const late = await responder.reply(responder.send({ op: 'respond', replyTo: orphan.replyTo, data: 1 }));
    expect(late).toMatchObject({ ok: false, error: { code: 'conflict' } });
    responder.close();
  });

  it('a consumer group spreads requests over its responders (queue-group style)', async () => {
    const responders = await Promise.all([WsClient.open(server.url), WsClient.open(server.url)]);
    const answered = [0, 0];
    for (const [i, responder] of responders.entries()) {
      const id = responder.send({ op: 'subscribe', topic: 'rpc.pool', group: 'workers', window: 1 });
      expect((await responder.reply(id)).ok).toBe(true);
      responder.ws.on('message', (raw) => {
        const frame = JSON.parse(String(raw));
        if (frame.op !== 'message') return;
        answered[i]!++;
        // Answer a little later, so the other member gets the next request meanwhile.
        setTimeout(() => {
          responder.send({ op: 'respond', replyTo: frame.replyTo, data: { by: i, n: frame.data } });
          responder.send({ op: 'ack', topic: 'rpc.pool', group: 'workers', offsets: [frame.offset] });
        }, 20);
      });
    }
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        post(`${server.url}/v1/topics/rpc.pool/requests?timeout=10`, { data: n }).then(json),
      ),
    );
    expect(answers.map((answer) => answer.reply.n)).toEqual(Array.from({ length: 12 }, (_, n) => n));
    expect(answered[0]! + answered[1]!).toBe(12);
    expect(answered[0]).toBeGreaterThan(0);
    expect(answered[1]).toBeGreaterThan(0);
    for (const responder of responders) responder.close();
  });
});
