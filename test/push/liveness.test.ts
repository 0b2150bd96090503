/**
 * Liveness chores with short real timers: SSE keep-alive comments keep idle streams open, and the
 * WebSocket ping round keeps answering peers while terminating peers that never answer.
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
});
