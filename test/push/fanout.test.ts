/**
 * Fan-out at scale: 1,000 WebSocket and 1,000 SSE subscribers on one topic (200 + 200 on the durable
 * engines, to keep the file fast) each receive every message, in order, and the topic feed reads the
 * log once per append rather than once per subscriber.
 */
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engines/engine.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, startServer, type TestServer } from '../support/server.js';
import type { Json } from './support/util.js';
import { freshTopic, until } from './support/util.js';

const MESSAGES = 20;
/** Subscribers per transport: full scale on memory; the durable engines change only the reads. */
const subscribersFor = (engine: string): number => (engine === 'memory' ? 1_000 : 200);

/** A minimal raw WebSocket subscriber (no per-frame JSON parsing), to keep the test process light. */
function rawWsSubscriber(url: string, topic: string): Promise<{ text: () => string; socket: Socket }> {
  const { port } = new URL(url);
  const socket = new Socket();
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (data: string) => {
    text += data;
  });
  socket.on('error', () => {});
  return new Promise((resolve) => {
    socket.connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      const payload = Buffer.from(JSON.stringify({ op: 'subscribe', id: 1, topic }));
      // A masked client text frame (RFC 6455 §5.3) with a zero mask, so the payload goes as is.
      socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]));
      resolve({ text: () => text, socket });
    });
  });
}

function rawSseSubscriber(url: string, topic: string): Promise<{ text: () => string; socket: Socket }> {
  const { port } = new URL(url);
  const socket = new Socket();
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (data: string) => {
    text += data;
  });
  socket.on('error', () => {});
  return new Promise((resolve) => {
    socket.connect(Number(port), '127.0.0.1', () => {
      socket.write(`GET /v1/topics/${topic}/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      resolve({ text: () => text, socket });
    });
  });
}

describe.each(ENGINE_FIXTURES)(
  'fan-out to many WebSocket and SSE subscribers: $name',
  ({ name, fixture: makeFixture }) => {
    const SUBSCRIBERS = subscribersFor(name);
    let fixture: EngineFixture;
    let server: TestServer;
    let reads = 0;

    beforeAll(async () => {
      fixture = makeFixture();
      const engine: Engine = fixture.create();
      const read = engine.read.bind(engine);
      engine.read = (...args) => {
        reads++;
        return read(...args);
      };
      // 2,000 connections from one address: lift the per-address connection limit for this test.
      const unlimited = { maxConnectionsPerIp: 0 } as object;
      server = await startServer({ ...fixture, create: () => engine }, unlimited);
    });
    afterAll(async () => {
      await server.close();
      fixture.cleanup();
    });

    it('delivers every message to every subscriber, reading the log once per append', async () => {
      const topic = freshTopic('fan');
      const { hub } = server.server;
      await hub.publish(topic, 'created');
      // Connect in waves of 100: a thousand simultaneous SYNs would be dropped and retried after 1 s.
      const ws: Array<Awaited<ReturnType<typeof rawWsSubscriber>>> = [];
      const sse: Array<Awaited<ReturnType<typeof rawSseSubscriber>>> = [];
      for (let i = 0; i < SUBSCRIBERS; i += 100) {
        ws.push(
          ...(await Promise.all(Array.from({ length: 100 }, () => rawWsSubscriber(server.url, topic)))),
        );
        sse.push(
          ...(await Promise.all(Array.from({ length: 100 }, () => rawSseSubscriber(server.url, topic)))),
        );
      }
      let stats: Json;
      await until(
        async () => {
          stats = await json(await fetch(`${server.url}/v1/topics/${topic}`));
          return stats.subscribers?.websocket === SUBSCRIBERS && stats.subscribers?.sse === SUBSCRIBERS;
        },
        10_000,
        'every subscriber to start',
      ).catch((error: Error) => {
        throw new Error(`${error.message}; topic stats: ${JSON.stringify(stats)}`);
      });
      // Subscribing costs one read each; from here on, reads are the feed's.
      await until(() => ws.every((c) => c.text().includes('"ok":true')), 10_000, 'subscribe replies');
      const readsBefore = reads;
      for (let i = 1; i <= MESSAGES; i++) {
        await hub.publish(topic, { i, pad: 'x'.repeat(80) });
      }
      const lastOffset = MESSAGES + 1;
      await until(
        () =>
          ws.every((c) => c.text().includes(`"offset":${lastOffset},`)) &&
          sse.every((c) => c.text().includes(`id: ${lastOffset}\n`)),
        15_000,
        'every subscriber to receive the last message',
      );
      expect(reads - readsBefore).toBeLessThanOrEqual(MESSAGES);
      for (const client of [...ws, ...sse]) {
        const offsets = [...client.text().matchAll(/"offset":(\d+),/g)].map((m) => Number(m[1]));
        expect(offsets).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 2));
      }
      for (const client of [...ws, ...sse]) client.socket.destroy();
    }, 40_000);
  },
);
