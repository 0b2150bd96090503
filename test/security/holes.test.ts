/**
 * Issue 19, the five holes of the adversarial review, each reproduced as an attacker would, in both
 * auth modes where it applies: (1) DNS-rebinding Host look-alikes, (2) job state forged through the
 * topic API, (3) job submissions stolen through the groups API, (4) tokens in logs under an encoded
 * parameter name, (5) dead letters read and written through wildcards.
 */
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { statusTopic } from '../../src/core/jobs/job-rules.js';
import { redactUrl } from '../../src/server/logging.js';
import { readEvents, sleep } from '../jobs/helpers.js';
import { startServer, type TestServer } from '../support/server.js';
import { type Receiver, startReceiver } from '../webhooks/receiver.js';
import { bearer, errorCode, jsonHeaders, memory, mint, startTokenServer } from './support.js';

/** A raw request with any Host header (fetch will not send a forged one); resolves to the status. */
function statusWithHost(url: string, path: string, host: string, upgrade = false): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: hostname,
      port,
      path,
      method: 'GET',
      setHost: false,
      headers: {
        host,
        ...(upgrade
          ? {
              connection: 'Upgrade',
              upgrade: 'websocket',
              'sec-websocket-version': '13',
              'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
            }
          : {}),
      },
    });
    request.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('hole 1: DNS rebinding — only real loopback literals and configured names pass the Host check', () => {
  const refused = [
    '127.0.0.1.rebind.attacker.example',
    '127.0.0.1.x.example:PORT',
    'localhost.x.example',
    'localhost.x.example:PORT',
    '127.1',
    '127.1:PORT',
    '0x7f.1',
    '0x7f000001',
    '2130706433',
    '127.000.0.1',
    '127.0.0.1.',
    '127.0.0.1.:PORT',
    'localhost.',
    'LOCALHOST.:PORT',
    '[::1].x.example',
    '[::1]x',
    'localhost:PORT:PORT',
    'localhost:abc',
    'attacker.example',
    'myhub.test.evil.example',
    '',
  ];
  const accepted = [
    '127.0.0.1',
    '127.0.0.1:PORT',
    '127.8.9.10:PORT',
    'localhost',
    'LocalHost:PORT',
    '[::1]:PORT',
    'myhub.test:PORT',
    'MYHUB.test',
  ];

  describe.each([
    { mode: 'open', start: () => startServer(memory, { allowedHosts: ['myhub.test'] }) },
    { mode: 'token', start: () => startTokenServer({ allowedHosts: ['myhub.test'] }) },
  ])('$mode mode', ({ start }) => {
    let server: TestServer;
    let port: string;
    beforeAll(async () => {
      server = await start();
      port = new URL(server.url).port;
    });
    afterAll(() => server.close());

    it('refuses look-alike Host headers on HTTP routes and WebSocket upgrades with 403', async () => {
      for (const template of refused) {
        const host = template.replaceAll('PORT', port);
        expect(await statusWithHost(server.url, '/healthz', host), `GET with Host "${host}"`).toBe(403);
        expect(await statusWithHost(server.url, '/v1/ws', host, true), `upgrade with Host "${host}"`).toBe(
          403,
        );
      }
    });

    it('answers real loopback literals and configured names', async () => {
      for (const template of accepted) {
        const host = template.replaceAll('PORT', port);
        expect(await statusWithHost(server.url, '/healthz', host), `GET with Host "${host}"`).toBe(200);
      }
      // The upgrade passes the Host check (open mode: 101; token mode without a token: still 101, auth op pending).
      expect(await statusWithHost(server.url, '/v1/ws', `localhost:${port}`, true)).toBe(101);
    });
  });
});

describe('holes 2 and 3: job state and job submissions are the jobs module’s alone', () => {
  describe.each([
    { mode: 'open', token: undefined as string | undefined },
    { mode: 'token', token: 'mint' },
  ])('$mode mode', ({ token: tokenMode }) => {
    let server: TestServer;
    let receiver: Receiver;
    let attacker: string | undefined; // may do everything a token can grant, but is not the jobs module
    let worker: string | undefined;
    const auth = (token: string | undefined): Record<string, string> => (token ? bearer(token) : {});
    beforeAll(async () => {
      receiver = await startReceiver();
      const options = { allowPrivateWebhooks: true, webhookRetryScheduleMs: [20, 20, 20] };
      server = tokenMode ? await startTokenServer(options) : await startServer(memory, options);
      if (tokenMode) {
        attacker = await mint({ sub: 'mallory', publish: ['>', 'jobs.>'], subscribe: ['>', 'jobs.>'] });
        worker = await mint({ sub: 'worker', publish: ['media'], subscribe: ['media'] });
      }
    });
    afterAll(async () => {
      await server.close();
      await receiver.close();
    });

    const submit = async () => {
      const response = await fetch(`${server.url}/v1/queues/media/jobs`, {
        method: 'POST',
        headers: { ...jsonHeaders, ...auth(worker) },
        body: JSON.stringify({ payload: { n: 1 }, callbackUrl: `${receiver.url}/cb` }),
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    };
    const job = async (id: string) =>
      (await (await fetch(`${server.url}/v1/jobs/${id}`, { headers: auth(worker) })).json()) as {
        status: string;
      };

    it('refuses a forged status published on the job’s status topic, over HTTP and WebSocket', async () => {
      const id = await submit();
      const topic = statusTopic('media', id);
      const forged = JSON.stringify({
        data: { id, status: 'succeeded', result: 'forged' },
        event: 'succeeded',
      });
      const http = await fetch(`${server.url}/v1/topics/${topic}/messages`, {
        method: 'POST',
        headers: { ...jsonHeaders, ...auth(attacker) },
        body: forged,
      });
      expect(http.status).toBe(403);
      expect(await errorCode(http)).toBe('forbidden');
      const query = attacker ? `?token=${attacker}` : '';
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws${query}`);
      await new Promise((resolve) => ws.once('open', resolve));
      const reply = new Promise<{ ok: boolean; error: { code: string } }>((resolve) =>
        ws.on('message', (data) => resolve(JSON.parse(data.toString()))),
      );
      ws.send(JSON.stringify({ op: 'publish', id: 1, topic, event: 'failed', data: { status: 'failed' } }));
      expect(await reply).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      ws.close();
      expect((await job(id)).status).toBe('queued');
      await sleep(100);
      expect(receiver.received.filter((r) => r.path === '/cb')).toEqual([]);
    });

    it('refuses claiming or acking the queue’s internal `workers` group; a real worker still gets the job', async () => {
      const id = await submit();
      for (const action of ['claim?max=10', 'ack', 'nack']) {
        const response = await fetch(`${server.url}/v1/topics/jobs.media/groups/workers/${action}`, {
          method: 'POST',
          headers: { ...jsonHeaders, ...auth(attacker) },
          body: JSON.stringify({ offsets: [1, 2, 3] }),
        });
        expect(response.status, action).toBe(403);
      }
      const claimed = await fetch(`${server.url}/v1/queues/media/claim`, {
        method: 'POST',
        headers: auth(worker),
      });
      expect(claimed.status).toBe(200);
      const body = (await claimed.json()) as { job: { id: string }; lease: string };
      // Earlier tests' jobs come first in the queue: settle them too, until this one.
      expect(body.job.id).toBeDefined();
      let lease = body.lease;
      let current = body.job.id;
      while (current !== id) {
        await fetch(`${server.url}/v1/jobs/${current}/complete`, {
          method: 'POST',
          headers: { ...jsonHeaders, ...auth(worker) },
          body: JSON.stringify({ lease }),
        });
        const next = (await (
          await fetch(`${server.url}/v1/queues/media/claim`, { method: 'POST', headers: auth(worker) })
        ).json()) as { job: { id: string }; lease: string };
        lease = next.lease;
        current = next.job.id;
      }
      expect((await job(id)).status).toBe('running');
    });

    it('ends the job stream and sends the callback only on the job store’s terminal state, with its body', async () => {
      const id = await submit();
      const events = fetch(`${server.url}/v1/jobs/${id}/events?after=0`, { headers: auth(worker) });
      // Something that is not the jobs module wrote a terminal-looking status (a door bug, an old store):
      // neither the stream nor the callback may believe it.
      await server.server.hub.internal.publishInputs(statusTopic('media', id), [
        { data: JSON.stringify({ id, status: 'succeeded', result: 'forged' }), event: 'succeeded' },
      ]);
      await sleep(150);
      expect(receiver.received.filter((r) => r.path === '/cb' && r.body.includes(id))).toEqual([]);
      // The real worker finishes the job (earlier jobs of the queue first).
      for (;;) {
        const claimed = (await (
          await fetch(`${server.url}/v1/queues/media/claim`, { method: 'POST', headers: auth(worker) })
        ).json()) as { job: { id: string }; lease: string };
        await fetch(`${server.url}/v1/jobs/${claimed.job.id}/complete`, {
          method: 'POST',
          headers: { ...jsonHeaders, ...auth(worker) },
          body: JSON.stringify({ lease: claimed.lease, result: { real: true } }),
        });
        if (claimed.job.id === id) break;
      }
      const stream = await readEvents(await events);
      expect(stream.map((e) => e.event)).toEqual(['queued', 'running', 'succeeded']);
      expect(stream.at(-1)?.data).toMatchObject({ id, status: 'succeeded', result: { real: true } });
      const callbacksOf = () =>
        receiver.received.filter((r) => r.path === '/cb').map((r) => JSON.parse(r.body) as { id: string });
      for (let waited = 0; waited < 5_000 && !callbacksOf().some((b) => b.id === id); waited += 20)
        await sleep(20);
      await sleep(100); // a second (forged) callback would come right after the first
      expect(callbacksOf().filter((b) => b.id === id)).toEqual([
        expect.objectContaining({ id, status: 'succeeded', result: { real: true } }),
      ]);
    });
  });
});

describe('hole 4: a token never reaches the logs, however its parameter name is spelled', () => {
  it('redacts by the parsed, decoded parameter name', () => {
    const table: Array<[string, string]> = [
      ['/v1/x?token=abc', '/v1/x?token=[REDACTED]'],
      ['/v1/x?t%6Fken=abc&after=1', '/v1/x?t%6Fken=[REDACTED]&after=1'],
      ['/v1/x?%74%6F%6B%65%6E=abc', '/v1/x?%74%6F%6B%65%6E=[REDACTED]'],
      ['/v1/x?TOKEN=abc', '/v1/x?TOKEN=[REDACTED]'],
      ['/v1/x?a=1&token=abc#frag', '/v1/x?a=1&token=[REDACTED]'],
      ['/v1/x?%zz=1&t%6Fken=abc', '/v1/x?%zz=1&t%6Fken=[REDACTED]'],
      ['/v1/x?access_token=abc', '/v1/x?access_token=[REDACTED]'],
      ['/v1/x?tokens=1&mytoken=2', '/v1/x?tokens=1&mytoken=2'],
      ['/v1/x', '/v1/x'],
    ];
    for (const [url, expected] of table) expect(redactUrl(url), url).toBe(expected);
  });

  it('keeps the JWT out of HTTP, SSE, WebSocket-upgrade and error logs (token mode)', async () => {
    let logged = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    const server = await startTokenServer({ logger: { level: 'debug', stream } });
    try {
      const reader = await mint({ subscribe: ['news'] });
      const outsider = await mint({ subscribe: ['other'] });
      const expired = await mint({ subscribe: ['news'], expiresIn: -120 });
      const base = server.url;
      const statuses = [
        (await fetch(`${base}/v1/topics/news/messages?t%6Fken=${expired}`)).status, // 401 at info
        (await fetch(`${base}/v1/topics/news/messages?%74oken=${outsider}`)).status, // 403
        (await fetch(`${base}/v1/topics/news/messages?t%6Fken=${reader}&after=0`)).status, // 200 at debug
        (await fetch(`${base}/v1/nowhere?t%6Fken=${reader}`)).status, // 404
        (await fetch(`${base}/v1/topics/%zz/messages?t%6Fken=${reader}`)).status, // malformed URL
      ];
      expect(statuses).toEqual([401, 403, 200, 404, 400]);
      const sse = await fetch(`${base}/v1/topics/news/events?t%6Fken=${reader}`, {
        signal: AbortSignal.timeout(300),
      }).catch(() => undefined);
      expect(sse?.status).toBe(200);
      await sse?.body?.cancel().catch(() => undefined);
      const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws?t%6Fken=${expired}`);
      const refusal = await new Promise<number>((resolve) => {
        ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.on('error', () => {});
      });
      expect(refusal).toBe(401);
      await sleep(400); // the SSE stream's close is logged when it ends
      expect(logged).toContain('[REDACTED]');
      for (const token of [reader, outsider, expired]) {
        expect(logged).not.toContain(token.split('.')[2]!); // the signature: the part that makes it usable
        expect(logged).not.toContain(token);
      }
    } finally {
      await server.close();
    }
  });
});

describe('hole 5: a wildcard token neither reads nor writes the dead letters of a topic it may not read', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTokenServer();
    // A dead letter exists: a group gives up on a message of `orders`.
    const admin = await mint({ admin: true });
    const headers = { ...jsonHeaders, ...bearer(admin) };
    await fetch(`${server.url}/v1/topics/orders/groups/g`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ maxAttempts: 1 }),
    });
    await fetch(`${server.url}/v1/topics/orders/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ data: { card: '4111' } }),
    });
    await fetch(`${server.url}/v1/topics/orders/groups/g/claim`, { method: 'POST', headers: bearer(admin) });
    await fetch(`${server.url}/v1/topics/orders/groups/g/nack`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ offsets: [1] }),
    });
    // The next claim finds the attempts used up and moves the message to orders.dead-letter.
    await fetch(`${server.url}/v1/topics/orders/groups/g/claim`, { method: 'POST', headers: bearer(admin) });
  });
  afterAll(() => server.close());

  const read = (token: string) =>
    fetch(`${server.url}/v1/topics/orders.dead-letter/messages?after=0`, { headers: bearer(token) });

  it('refuses orders.* on orders.dead-letter, for reading (HTTP, SSE, WebSocket) and writing', async () => {
    const wildcard = await mint({ publish: ['orders.*', 'orders.>'], subscribe: ['orders.*', 'orders.>'] });
    expect((await read(wildcard)).status).toBe(403);
    const sse = await fetch(`${server.url}/v1/topics/orders.dead-letter/events?after=0`, {
      headers: bearer(wildcard),
    });
    expect(sse.status).toBe(403);
    const write = await fetch(`${server.url}/v1/topics/orders.dead-letter/messages`, {
      method: 'POST',
      headers: { ...jsonHeaders, ...bearer(wildcard) },
      body: JSON.stringify({ data: 'planted' }),
    });
    expect(write.status).toBe(403);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws?token=${wildcard}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const reply = new Promise<{ ok: boolean; error: { code: string } }>((resolve) =>
      ws.on('message', (data) => resolve(JSON.parse(data.toString()))),
    );
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, topic: 'orders.dead-letter', after: 0 }));
    expect(await reply).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    ws.close();
  });

  it('lets whoever may read orders read its dead letters', async () => {
    const reader = await mint({ subscribe: ['orders'] });
    const response = await read(reader);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { messages: Array<{ data: { topic: string } }> };
    expect(body.messages.map((m) => m.data.topic)).toEqual(['orders']);
  });
});
