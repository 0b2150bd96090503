/**
 * Resume across a real crash: `switchboard serve` (SQLite) is killed with SIGKILL mid-session and
 * started again on the same port and data directory. A client forced to each transport, and one
 * using the default fallback, must end with every offset exactly once, in order. Also: a switch of
 * transport mid-session (WebSocket stops working, the client falls back to SSE) keeps the cursor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import type { Message, WebSocketConstructor } from '../../src/client/index.js';
import { freePort } from '../browser/support.js';
import { type ServerProcess, spawnServer } from '../support/process.js';
import {
  memoryServer,
  offsets,
  publishMany,
  range,
  recordedClient,
  TRANSPORT_NAMES,
  uniqueTopic,
  waitFor,
} from './support.js';

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-sdk-resume-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test('every transport resumes after kill -9 and a restart on the same port: no gap, no duplicate', async () => {
  const port = await freePort();
  const args = ['--data-dir', dataDir, '--port', String(port)];
  let server: ServerProcess = await spawnServer(args);
  const topic = uniqueTopic('crash');
  const lanes = [...TRANSPORT_NAMES, undefined].map((via) => {
    const recorded = recordedClient(server.url, via === undefined ? {} : { transports: via });
    const got: Message[] = [];
    recorded.client.subscribe(topic, { after: 0, onMessage: (m) => got.push(m) });
    return { via: via ?? 'default', got, ...recorded };
  });
  try {
    await publishMany(server.url, topic, 20);
    await waitFor('20 messages on every lane', () => lanes.every((lane) => lane.got.length === 20));

    server.child.kill('SIGKILL');
    await server.exited;
    // While the server is down, each client keeps trying with growing delays.
    await waitFor('failed reconnect rounds', () =>
      lanes.every((lane) => lane.states.some((s) => s.state === 'reconnecting' && (s.attempt ?? 0) >= 1)),
    );
    server = await spawnServer(args);
    await publishMany(server.url, topic, 20, 20);
    await waitFor('40 messages on every lane', () => lanes.every((lane) => lane.got.length >= 40), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 100)); // a duplicate would arrive now
    for (const lane of lanes) {
      expect({ via: lane.via, offsets: offsets(lane.got) }).toEqual({ via: lane.via, offsets: range(1, 40) });
      expect(lane.got.map((m) => (m.data as { n: number }).n)).toEqual(range(0, 39));
      expect(lane.errors.length).toBeGreaterThan(0); // the drop was reported, typed
    }
    const delays = lanes[0]!.states.filter((s) => s.state === 'reconnecting').map((s) => s.delayMs ?? 0);
    expect(Math.max(...delays)).toBeGreaterThan(Math.min(...delays)); // backoff grows
  } finally {
    for (const lane of lanes) lane.client.close();
    server.child.kill('SIGKILL');
    await server.exited;
  }
});

test('a transport change mid-session (WebSocket stops working, SSE takes over) keeps the cursor', async () => {
  const server = await memoryServer();
  // A WebSocket that works until `broken`, then refuses to connect, like a proxy that starts dropping upgrades.
  let broken = false;
  const sockets: WebSocket[] = [];
  class FlakyWebSocket extends WebSocket {
    constructor(url: string) {
      if (broken) throw new Error('upgrade blocked');
      super(url);
      sockets.push(this);
    }
  }
  const { client, states } = recordedClient(server.url, {
    transports: ['websocket', 'sse'],
    WebSocket: FlakyWebSocket as unknown as WebSocketConstructor,
  });
  const topic = uniqueTopic();
  const got: Message[] = [];
  client.subscribe(topic, { after: 0, onMessage: (m) => got.push(m) });
  try {
    await publishMany(server.url, topic, 10);
    await waitFor('10 over websocket', () => got.length === 10);
    expect(client.transport).toBe('websocket');
    broken = true;
    for (const socket of sockets) socket.terminate();
    await publishMany(server.url, topic, 10, 10);
    await waitFor('20 in all', () => got.length >= 20);
    expect(client.transport).toBe('sse');
    expect(offsets(got)).toEqual(range(1, 20));
    expect(states.filter((s) => s.state === 'open').map((s) => s.transport)).toEqual(['websocket', 'sse']);
  } finally {
    client.close();
    await server.close();
  }
});
