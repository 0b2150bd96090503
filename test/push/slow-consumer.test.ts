/**
 * Slow consumers: a subscriber that stops reading is closed once its send buffer passes the bound
 * (WebSocket 4001, SSE `close` event), with a reason saying how to resume, while subscribers that
 * keep reading get every message. Memory stays bounded because nothing is queued past the bound.
 */
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/ws.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, startServer, type TestServer } from '../support/server.js';
import { freshTopic, until } from './support/util.js';
import { connectWs, type WsClient, waitForMessages } from './support/ws-client.js';

const BOUND = 64 * 1024;
const SLOW = 10; // per transport
const PAYLOAD = `"${'x'.repeat(32 * 1024)}"`;

/** A raw HTTP client that sends the request and then reads nothing until resumed. */
function stalledSse(url: string, topic: string): Promise<{ socket: Socket; received: () => string }> {
  const { port } = new URL(url);
  const socket = new Socket();
  let received = '';
  socket.on('data', (data) => {
    received += data.toString();
  });
  socket.on('error', () => {});
  return new Promise((resolve) => {
    socket.connect(Number(port), '127.0.0.1', () => {
      socket.write(`GET /v1/topics/${topic}/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      socket.once('data', () => {
        socket.pause(); // headers arrived: from now on, read nothing
        resolve({ socket, received: () => received });
      });
    });
  });
}

describe.each(ENGINE_FIXTURES)('slow consumers: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture, {
      pushMaxBufferedBytes: BOUND,
      retention: { maxCount: 100, maxAgeMs: 3_600_000, rules: [] },
    });
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  it('closes subscribers that never read (4001 / close event) while a reading subscriber gets everything', async () => {
    const topic = freshTopic('slow');
    const { hub } = server.server;
    await hub.publish(topic, 'first'); // creates the topic, so its stats show the subscribers
    const fast = await connectWs(server.url);
    await fast.request({ op: 'subscribe', topic });
    const slowWs: WsClient[] = [];
    for (let i = 0; i < SLOW; i++) {
      const client = await connectWs(server.url);
      await client.request({ op: 'subscribe', topic });
      client.ws.pause();
      slowWs.push(client);
    }
    const slowSse = await Promise.all(Array.from({ length: SLOW }, () => stalledSse(server.url, topic)));
    const counts = async (): Promise<Record<string, number>> =>
      (await json(await fetch(`${server.url}/v1/topics/${topic}`))).subscribers;
    await until(async () => (await counts()).sse === SLOW, 5_000, 'SSE subscribers to start');

    // Publish until the kernel buffers are full and every stalled subscriber passed the bound.
    let published = 0;
    while (published < 4_000) {
      await hub.publishInputs(
        topic,
        Array.from({ length: 16 }, () => ({ data: PAYLOAD })),
      );
      published += 16;
      const now = await counts();
      if ((now.websocket ?? 0) === 1 && now.sse === undefined) break;
    }
    expect(await counts()).toEqual({ websocket: 1 });
    expect((await waitForMessages(fast, published, topic, 10_000)).length).toBe(published);

    for (const client of slowWs) client.ws.resume();
    for (const client of slowWs) {
      const closed = await client.closed;
      expect(closed.code).toBe(CloseCode.SlowConsumer);
      expect(closed.reason).toBe(
        `slow consumer: over ${BOUND} bytes unsent; reconnect and resume from your last offsets`,
      );
      // Whatever arrived is a contiguous prefix: resuming from the last offset loses nothing.
      const offsets = client.messages(topic).map((m) => m.offset);
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i + 2));
    }
    for (const { socket, received } of slowSse) {
      socket.resume();
      await until(() => received().endsWith('0\r\n\r\n'), 5_000, 'the SSE body to end');
      expect(received()).toContain(
        `event: close\ndata: {"code":4001,"reason":"slow consumer: over ${BOUND} bytes unsent; reconnect and resume from your last event id"}`,
      );
      socket.destroy();
    }
    fast.close();
  });
});
