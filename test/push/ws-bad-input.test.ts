/**
 * WebSocket bad input: every case from the issue gets an error reply (or, for protocol abuse, a close
 * with a clear code and reason), and the connection and the server keep working afterwards.
 */
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/ws.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';
import type { Json } from './support/util.js';
import { freshTopic } from './support/util.js';
import { connectWs, type WsClient, waitForMessages } from './support/ws-client.js';

const MAX_MESSAGE_BYTES = 1_024;
const MAX_FRAME_BYTES = 2_048;

describe.each(ENGINE_FIXTURES)('WebSocket bad input: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture, {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      wsMaxPayloadBytes: MAX_FRAME_BYTES,
      maxTopicsPerConnection: 3,
      wsControlOpsPerSecond: 50,
    });
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  /** The connection still subscribes, publishes and delivers. */
  async function stillWorks(client: WsClient): Promise<void> {
    const topic = freshTopic();
    expect(await client.request({ op: 'subscribe', topic })).toMatchObject({ ok: true });
    expect(await client.request({ op: 'publish', topic, data: 'ok' })).toMatchObject({ ok: true, offset: 1 });
    expect((await waitForMessages(client, 1, topic))[0].data).toBe('ok');
    expect(await client.request({ op: 'unsubscribe', topic })).toMatchObject({ ok: true });
  }

  const lastReply = (client: WsClient): Promise<Json> =>
    client
      .next((f) => f.op === 'reply' && f.ok === false && !f.seen)
      .then((f) => Object.assign(f, { seen: true }));

  const cases: Array<[string, string | unknown, number | null, string, string | RegExp]> = [
    ['malformed JSON', '{"op":"subscribe",', null, 'bad_request', /^frame is not valid JSON \(/],
    ['a non-object frame', '[1,2]', null, 'bad_request', /^a frame must be a JSON object such as/],
    [
      'an unknown op',
      { op: 'sing', id: 1 },
      1,
      'bad_request',
      /^unknown op "sing"; use one of subscribe, unsubscribe/,
    ],
    ['a missing op', { id: 2 }, 2, 'bad_request', /^a frame needs "op", one of/],
    [
      'a missing id',
      { op: 'subscribe', topic: 'x' },
      null,
      'bad_request',
      `"subscribe" op expects 'id' to be a number (it matches the reply), but got undefined`,
    ],
    [
      'a string id',
      { op: 'subscribe', id: 'one', topic: 'x' },
      null,
      'bad_request',
      /expects 'id' to be a number/,
    ],
    [
      'a topic of the wrong type',
      { op: 'subscribe', id: 3, topic: 5 },
      3,
      'bad_request',
      `"subscribe" op expects 'topic' to be a string, but got number`,
    ],
    [
      'a bad topic name',
      { op: 'subscribe', id: 4, topic: 'a..b' },
      4,
      'bad_request',
      /^topic "a\.\.b" is invalid: use segments/,
    ],
    [
      'a fractional cursor',
      { op: 'subscribe', id: 5, topic: 'x', after: 1.5 },
      5,
      'bad_request',
      `"subscribe" op expects 'after' to be a whole number >= 0, but got number 1.5`,
    ],
    [
      'a negative cursor',
      { op: 'subscribe', id: 6, topic: 'x', after: -1 },
      6,
      'bad_request',
      `"subscribe" op expects 'after' to be a whole number >= 0, but got number -1`,
    ],
    [
      'a string cursor',
      { op: 'subscribe', id: 7, topic: 'x', after: '3' },
      7,
      'bad_request',
      `"subscribe" op expects 'after' to be a whole number >= 0, but got string`,
    ],
    [
      'an unknown field',
      { op: 'subscribe', id: 8, topic: 'x', afer: 3 },
      8,
      'bad_request',
      /has unknown field 'afer'; it accepts op, id, topic, after/,
    ],
    [
      'a publish without data',
      { op: 'publish', id: 9, topic: 'x' },
      9,
      'bad_request',
      `"publish" op expects 'data' to be any JSON value, but it is missing`,
    ],
    [
      'a bad event name',
      { op: 'publish', id: 10, topic: 'x', data: 1, event: 'no spaces' },
      10,
      'bad_request',
      /^event "no spaces" is invalid/,
    ],
    [
      'data over the message limit',
      { op: 'publish', id: 11, topic: 'x', data: 'y'.repeat(MAX_MESSAGE_BYTES) },
      11,
      'payload_too_large',
      /data is 1026 bytes; the limit is 1024/,
    ],
    [
      'a frame over the frame limit',
      { op: 'publish', id: 12, topic: 'x', data: 'y'.repeat(MAX_FRAME_BYTES) },
      12,
      'payload_too_large',
      /^frame is \d+ bytes; the limit is 2048 \(wsMaxPayloadBytes\)/,
    ],
    [
      'data nested too deep',
      `{"op":"publish","id":13,"topic":"x","data":${'['.repeat(70)}${']'.repeat(70)}}`,
      null,
      'bad_request',
      /nested deeper than 64 levels/,
    ],
    [
      'an ack without offsets',
      { op: 'ack', id: 14, topic: 'x', group: 'g' },
      14,
      'bad_request',
      /expects 'offsets' to be a non-empty array/,
    ],
  ];

  it.each(cases)(
    'answers %s with an error reply and keeps working',
    async (_name, frame, id, code, message) => {
      const client = await connectWs(url);
      client.send(frame);
      const reply = await lastReply(client);
      expect(reply).toMatchObject({ op: 'reply', id, ok: false, error: { code } });
      if (typeof message === 'string') expect(reply.error.message).toBe(message);
      else expect(reply.error.message).toMatch(message);
      await stillWorks(client);
      client.close();
    },
  );

  it('answers binary frames with an error reply and keeps working', async () => {
    const client = await connectWs(url);
    client.ws.send(Buffer.from([1, 2, 3]));
    expect((await lastReply(client)).error).toEqual({
      code: 'bad_request',
      message: 'binary frames are not supported; send JSON text frames',
    });
    await stillWorks(client);
    client.close();
  });

  it('refuses a subscription past maxTopicsPerConnection and keeps the others', async () => {
    const client = await connectWs(url);
    const topics = [freshTopic(), freshTopic(), freshTopic()];
    for (const topic of topics)
      expect(await client.request({ op: 'subscribe', topic })).toMatchObject({ ok: true });
    const refused = await client.request({ op: 'subscribe', topic: freshTopic() });
    expect(refused.error).toEqual({
      code: 'bad_request',
      message: expect.stringMatching(/already subscribes to 3 topics \(maxTopicsPerConnection\)/),
    });
    await client.request({ op: 'unsubscribe', topic: topics[0] });
    await stillWorks(client);
    client.close();
  });

  it('closes a frame larger than twice the limit with 1009, and the server keeps serving', async () => {
    const client = await connectWs(url);
    client.send({ op: 'publish', id: 1, topic: 'x', data: 'y'.repeat(MAX_FRAME_BYTES * 2) });
    expect((await client.closed).code).toBe(1009);
    const other = await connectWs(url);
    await stillWorks(other);
    other.close();
  });

  it('closes a flood of subscribe ops with 4429 and a reason', async () => {
    const client = await connectWs(url);
    for (let i = 0; i < 200; i++) client.send({ op: 'subscribe', id: i, topic: 'flood' });
    const closed = await client.closed;
    expect(closed.code).toBe(CloseCode.RateLimited);
    expect(closed.reason).toMatch(/too many subscribe\/unsubscribe\/auth ops or bad frames \(limit 50\/s\)/);
    const other = await connectWs(url);
    await stillWorks(other);
    other.close();
  });

  it('refuses upgrades on other paths and from origins that are not allowed', async () => {
    const upgrade = (path: string, origin?: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const { port } = new URL(url);
        const socket = new Socket();
        let answer = '';
        socket.on('data', (data) => {
          answer += data.toString();
        });
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
        socket.connect(Number(port), '127.0.0.1', () => {
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
              (origin ? `Origin: ${origin}\r\n` : '') +
              '\r\n',
          );
        });
      });
    const wrongPath = await upgrade('/v1/nope');
    expect(wrongPath).toMatch(/^HTTP\/1\.1 404 /);
    expect(wrongPath).toContain('"code":"not_found"');
    const badOrigin = await upgrade('/v1/ws', 'https://evil.example');
    expect(badOrigin).toMatch(/^HTTP\/1\.1 403 /);
    expect(badOrigin).toContain('Origin https://evil.example is not allowed');
  });
});
