/**
 * Transport chores with short real timers: SSE keep-alive comments keep idle streams open, the
 * WebSocket ping round keeps answering peers while terminating peers that never answer, and both
 * transports report their connections and deliveries to the metrics.
 */
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';
import { openSse } from './support/sse-client.js';
import { freshTopic, publishMany } from './support/util.js';
import { connectWs, waitForMessages } from './support/ws-client.js';

const INTERVAL_MS = 100;

describe.each(ENGINE_FIXTURES)('push liveness: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture, { sseKeepAliveMs: INTERVAL_MS, wsPingIntervalMs: INTERVAL_MS });
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  it('sends SSE keep-alive comments on an idle stream, which stays usable', async () => {
    const topic = freshTopic();
    const sse = await openSse(`${server.url}/v1/topics/${topic}/events`);
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 5));
    const keepAlives = sse.frames.filter((f) => f.comments.includes('keep-alive'));
    expect(keepAlives.length).toBeGreaterThanOrEqual(3);
    expect(sse.text()).toContain('\n: keep-alive\n\n');
    await publishMany(server.url, topic, ['still here']);
    expect((await sse.next((f) => f.id === '1')).data).toContain('"data":"still here"');
    sse.close();
  });

  it('keeps a WebSocket that answers pings, and terminates one that never does', async () => {
    const topic = freshTopic();
    const answering = await connectWs(server.url); // the ws client answers pings by itself
    await answering.request({ op: 'subscribe', topic });

    const { port } = new URL(server.url);
    const silent = new Socket();
    let received = '';
    const ended = new Promise<void>((resolve) => silent.on('close', () => resolve()));
    silent.on('data', (data) => {
      received += data.toString('latin1');
    });
    silent.on('error', () => {});
    silent.connect(Number(port), '127.0.0.1', () => {
      silent.write(
        `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    const started = Date.now();
    await ended; // it read the pings (0x89 frames) but never sent a pong
    expect(received).toContain('101 Switching Protocols');
    expect(received).toContain('\x89\x00');
    expect(Date.now() - started).toBeLessThan(INTERVAL_MS * 10);

    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 4));
    await publishMany(server.url, topic, ['alive']);
    expect((await waitForMessages(answering, 1, topic))[0].data).toBe('alive');
    answering.close();
  });

  it('reports push connections and deliveries by transport in /metrics', async () => {
    // A server of its own: earlier tests' deliveries may still be on their way to the counters.
    const own = makeFixture();
    const server = await startServer(own);
    const metric = async (name: string, transport: string): Promise<number> => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{transport="${transport}"} `));
      return Number(line?.split(' ')[1] ?? 0);
    };
    const delivered = 'switchboard_messages_delivered_total';
    const topic = freshTopic();
    const ws = await connectWs(server.url);
    await ws.request({ op: 'subscribe', topic });
    const sse = await openSse(`${server.url}/v1/topics/${topic}/events`);
    await sse.next((f) => f.event === 'ready');
    expect(await metric('switchboard_connections', 'websocket')).toBe(1);
    expect(await metric('switchboard_connections', 'sse')).toBe(1);
    await publishMany(server.url, topic, ['a', 'b']);
    await waitForMessages(ws, 2, topic);
    await sse.next((f) => f.id === '2');
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // deliveries are reported once a second
    expect(await metric(delivered, 'websocket')).toBe(2);
    expect(await metric(delivered, 'sse')).toBe(2);
    ws.close();
    sse.close();
    await server.close();
    own.cleanup();
  });
});
