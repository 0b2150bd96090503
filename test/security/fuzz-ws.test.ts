/**
 * Fuzz pass over WebSocket frames (issue 6): arbitrary text and binary frames on one connection are
 * answered only with protocol frames (replies, error replies with contract codes, messages) or a
 * close with a documented code; afterwards a fresh connection still works and the server is healthy.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectWs, type WsClient } from '../push/support/ws-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { assertServerFrame, CONTRACT_CLOSE_CODES } from './fuzz-support.js';
import { memory } from './support.js';

const OPS = ['subscribe', 'unsubscribe', 'publish', 'ack', 'nack', 'auth', 'reply', 'message', ''];

/** Fields of the right name with values of any type, so every op's checks run on bad shapes. */
const opFrame = fc
  .record(
    {
      op: fc.oneof(fc.constantFrom(...OPS), fc.string(), fc.jsonValue()),
      id: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string(), fc.constant(null)),
      topic: fc.oneof(fc.constantFrom('fuzz', 'fuzz.a', 'a..b', ''), fc.string(), fc.jsonValue()),
      after: fc.oneof(fc.nat(5), fc.integer(), fc.double(), fc.string(), fc.jsonValue()),
      epoch: fc.oneof(fc.string(), fc.jsonValue()),
      group: fc.oneof(fc.constantFrom('g', 'g.h'), fc.string(), fc.jsonValue()),
      window: fc.oneof(fc.integer({ min: -1, max: 1_002 }), fc.jsonValue()),
      offsets: fc.oneof(fc.array(fc.integer({ min: -1, max: 10 }), { maxLength: 4 }), fc.jsonValue()),
      delayMs: fc.jsonValue(),
      error: fc.jsonValue(),
      event: fc.jsonValue(),
      idempotencyKey: fc.jsonValue(),
      token: fc.jsonValue(),
      data: fc.jsonValue(),
      unknownField: fc.jsonValue(),
    },
    { requiredKeys: ['op'] },
  )
  .map((frame) => JSON.stringify(frame));

const frame: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  opFrame,
  opFrame,
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json(),
  fc
    .integer({ min: 60, max: 3_000 })
    .map((depth) => `{"op":"publish","id":1,"topic":"fuzz","data":${'['.repeat(depth)}${']'.repeat(depth)}}`),
  fc.uint8Array({ maxLength: 200 }),
);

describe('WebSocket fuzz', () => {
  let server: TestServer;
  let client: WsClient;
  const violations: string[] = [];
  let checkedFrames = 0;

  /** A connection whose every incoming frame and close is checked against the protocol. */
  async function watchedConnection(): Promise<WsClient> {
    const connection = await connectWs(server.url);
    connection.ws.on('message', (data) => {
      checkedFrames++;
      try {
        assertServerFrame(JSON.parse(data.toString()), 'server frame');
      } catch (error) {
        violations.push((error as Error).message);
      }
    });
    void connection.closed.then(({ code, reason }) => {
      if (!CONTRACT_CLOSE_CODES.has(code)) violations.push(`close with code ${code} (${reason})`);
    });
    return connection;
  }

  beforeAll(async () => {
    // A high control-op budget keeps one connection reading fuzz frames instead of closing with 4429.
    server = await startServer(memory, { maxMessageBytes: 512, wsControlOpsPerSecond: 100_000 });
    client = await watchedConnection();
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('answers arbitrary frames only with protocol frames or a documented close', async () => {
    let sentinel = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 4 }), async (frames) => {
        if (client.ws.readyState !== WebSocket.OPEN) client = await watchedConnection();
        for (const item of frames) client.ws.send(item, { binary: typeof item !== 'string' });
        // A known op after the fuzz frames paces the run: its reply means the frames before it were read.
        const id = 1_000_000_000 + ++sentinel;
        client.send({ op: 'auth', id, token: 'ignored in open mode' });
        await client
          .next((f) => f.op === 'reply' && f.id === id)
          .catch(async (error: Error) => {
            // Only a documented close may cut the run short; the close handler records anything else.
            if (client.ws.readyState === WebSocket.OPEN) throw error;
          });
        if (violations.length > 0) throw new Error(violations.join('\n'));
      }),
      { numRuns: 250 },
    );
    expect(checkedFrames).toBeGreaterThan(250);
    expect(violations).toEqual([]);
  });

  it('still serves a fresh connection, and /healthz, after the fuzzing', async () => {
    const fresh = await connectWs(server.url);
    try {
      expect(await fresh.request({ op: 'subscribe', topic: 'after-ws-fuzz', after: 0 })).toMatchObject({
        ok: true,
      });
      expect(await fresh.request({ op: 'publish', topic: 'after-ws-fuzz', data: 'ok' })).toMatchObject({
        ok: true,
      });
      const message = await fresh.next((f) => f.op === 'message' && f.topic === 'after-ws-fuzz');
      expect(message.data).toBe('ok');
    } finally {
      fresh.close();
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
