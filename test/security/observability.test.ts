/** /metrics names and counts that move; request log lines that never carry a token. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';
import { bearer, memory, mint, publish, startTokenServer } from './support.js';

const EXPECTED_METRICS = [
  'switchboard_messages_published_total',
  'switchboard_messages_delivered_total',
  'switchboard_connections',
  'switchboard_subscribers',
  'switchboard_long_polls_held',
  'switchboard_tcp_connections',
  'switchboard_rejected_total',
  'switchboard_http_requests_total',
  'switchboard_http_request_duration_seconds',
  'switchboard_engine_op_duration_seconds',
  'switchboard_group_lag',
  'switchboard_group_pending',
  'process_cpu_seconds_total',
  'nodejs_eventloop_lag_seconds',
];

const metricValue = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
};

describe('GET /metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(memory);
  });
  afterAll(() => server.close());
  const scrape = async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return response.text();
  };

  it('exposes the documented metric names in Prometheus text format', async () => {
    const text = await scrape();
    for (const name of EXPECTED_METRICS) expect(text, name).toContain(`# TYPE ${name} `);
  });

  it('counts published messages, engine calls, HTTP requests and rejections', async () => {
    const before = metricValue(await scrape(), 'switchboard_messages_published_total');
    await publish(server.url, 'metrics.a');
    await fetch(`${server.url}/v1/topics/metrics.a/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ data: 1 }, { data: 2, idempotencyKey: 'k' }, { data: 3, idempotencyKey: 'k' }]),
    });
    await publish(server.url, 'bad..topic');
    const text = await scrape();
    // 1 + a batch of 3 whose last envelope repeats an idempotency key within the batch: ≥ 3 stored.
    expect(metricValue(text, 'switchboard_messages_published_total') - before).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(
      /switchboard_http_requests_total\{method="POST",route="\/v1\/topics\/:topic\/messages",status="201"\} \d+/,
    );
    expect(text).toMatch(/switchboard_engine_op_duration_seconds_count\{op="append",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/switchboard_http_requests_total\{method="POST",[^}]*status="400"\} [1-9]/);
  });

  it('shows held long polls as connections and subscribers while they wait', async () => {
    const held = new AbortController();
    const poll = fetch(`${server.url}/v1/topics/metrics.b/messages?wait=30`, { signal: held.signal }).catch(
      () => null,
    );
    while (server.server.hub.heldRequests === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const text = await scrape();
    expect(text).toContain('switchboard_long_polls_held 1');
    expect(text).toContain('switchboard_connections{transport="longpoll"} 1');
    expect(text).toContain('switchboard_subscribers{transport="longpoll"} 1');
    held.abort();
    await poll;
  });

  it('reads group lag and pending from the store at scrape time', async () => {
    for (let n = 0; n < 3; n++) await publish(server.url, 'metrics.groups');
    const claim = await fetch(`${server.url}/v1/topics/metrics.groups/groups/workers/claim?member=m&max=3`, {
      method: 'POST',
    });
    expect(((await claim.json()) as { messages: unknown[] }).messages).toHaveLength(3);
    const ack = await fetch(`${server.url}/v1/topics/metrics.groups/groups/workers/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ member: 'm', offsets: [1] }),
    });
    expect(ack.status).toBe(200);
    const text = await scrape();
    // 3 published, offset 1 acked: committed 1, so 2 unacknowledged, both still leased.
    expect(text).toContain('switchboard_group_lag{topic="metrics.groups",group="workers"} 2');
    expect(text).toContain('switchboard_group_pending{topic="metrics.groups",group="workers"} 2');

    await fetch(`${server.url}/v1/topics/metrics.groups/groups/workers`, { method: 'DELETE' });
    expect(await scrape()).not.toContain('group="workers"');
  });

  it('keeps a registry per server, so two servers count separately', async () => {
    const other = await startServer(memory);
    try {
      await publish(other.url, 'x');
      const otherText = await (await fetch(`${other.url}/metrics`)).text();
      expect(metricValue(otherText, 'switchboard_messages_published_total')).toBe(1);
    } finally {
      await other.close();
    }
  });
});

describe('structured request logs', () => {
  it('logs method, route, status and duration, and never a token', async () => {
    const lines: string[] = [];
    const stream = { write: (line: string) => lines.push(line) };
    const server = await startTokenServer({
      logger: { level: 'debug', stream },
      publishRate: 0.001, // one token per 1,000 s: the second publish is a 429 however slow the machine
      publishBurst: 1,
    });
    try {
      const token = await mint({ publish: ['>'], subscribe: ['>'] });
      const signature = token.split('.')[2]!;
      await publish(server.url, 'logs', token);
      await publish(server.url, 'logs', token); // 429
      await fetch(`${server.url}/v1/topics/logs/messages?after=0&token=${token}`);
      await fetch(`${server.url}/v1/topics/logs/messages?token=${token}x`); // 401
      await fetch(`${server.url}/v1/topics/logs/messages`, { headers: bearer(`${token}x`) }); // 401
      await fetch(`${server.url}/v1/topics/logs`, { method: 'DELETE', headers: bearer(token) }); // 403
      await new Promise((resolve) => setTimeout(resolve, 50));

      const all = lines.join('');
      expect(all).not.toContain(signature);
      expect(all).not.toContain(token.split('.')[1]!);
      const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.module === 'http');
      expect(requests.map((l) => l.status)).toEqual([201, 429, 200, 401, 401, 403]);
      expect(requests[0]).toMatchObject({
        method: 'POST',
        route: '/v1/topics/:topic/messages',
        url: '/v1/topics/logs/messages',
        sub: 'alice',
      });
      expect(typeof requests[0].durationMs).toBe('number');
      expect(typeof requests[0].reqId).toBe('string');
      expect(requests[2].url).toBe('/v1/topics/logs/messages?after=0&token=[REDACTED]');
    } finally {
      await server.close();
    }
  });
});
