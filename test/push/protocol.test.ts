/** Pure wire functions of the push transports, with exact strings and bytes; and docs/protocol.md in sync. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../src/engines/engine.js';
import { chunk, messageChunk, messagesChunk } from '../../src/patterns/sse/wire.js';
import { messageFrame, textFrame } from '../../src/patterns/websocket/wire.js';
import { encodeCursor, parseCursor, SseEvent } from '../../src/protocol/sse.js';
import { CLIENT_OPS, CloseCode, closeReason, parseClientOp } from '../../src/protocol/ws.js';

const message = (offset: number, data = '{"a":1}', event?: string): StoredMessage => ({
  topic: 'orders',
  offset,
  time: 1_700_000_000_000,
  event,
  data,
});

describe('WebSocket frames', () => {
  it.each([0, 125, 126, 65_535, 65_536, 70_000])('frames a %i-byte payload per RFC 6455', (length) => {
    const frame = textFrame('x'.repeat(length));
    expect(frame[0]).toBe(0x81); // FIN + text, unmasked
    if (length < 126) {
      expect(frame[1]).toBe(length);
      expect(frame.length).toBe(2 + length);
    } else if (length < 65_536) {
      expect(frame[1]).toBe(126);
      expect(frame.readUInt16BE(2)).toBe(length);
      expect(frame.length).toBe(4 + length);
    } else {
      expect(frame[1]).toBe(127);
      expect(Number(frame.readBigUInt64BE(2))).toBe(length);
      expect(frame.length).toBe(10 + length);
    }
  });

  it('builds a message frame once per stored message', () => {
    const stored = message(7, '"é"', 'shipped');
    const frame = messageFrame(stored);
    expect(messageFrame(stored)).toBe(frame);
    expect(frame.subarray(2).toString()).toBe(
      '{"op":"message","topic":"orders","offset":7,"time":1700000000000,"event":"shipped","data":"é"}',
    );
    expect(frame[1]).toBe(Buffer.byteLength(frame.subarray(2).toString()));
  });
});

describe('SSE chunks', () => {
  it('frames a chunk with its byte length in hex', () => {
    expect(chunk('é\n').toString()).toBe('3\r\né\n\r\n');
  });

  it('writes id, event only when named, and data; one shared chunk per message and per batch', () => {
    const named = message(2, '{"x":true}', 'shipped');
    expect(messageChunk(named).toString()).toBe(
      '73\r\nid: 2\nevent: shipped\ndata: {"topic":"orders","offset":2,"time":1700000000000,"event":"shipped","data":{"x":true}}\n\n\r\n',
    );
    const plain = message(3);
    expect(messageChunk(plain).toString()).toContain('id: 3\ndata: {"topic"');
    const batch = [named, plain];
    expect(messagesChunk(batch, 0)).toBe(messagesChunk(batch, 0));
    expect(messagesChunk(batch, 1)).toBe(messageChunk(plain));
  });

  it('splits data with line breaks into several data lines', () => {
    const text = messageChunk(message(4, '{\r\n"a":\r1\n}')).toString();
    expect(text).toContain(
      'data: {"topic":"orders","offset":4,"time":1700000000000,"data":{\ndata: "a":\ndata: 1\ndata: }}\n\n',
    );
  });
});

describe('multi-topic SSE cursors', () => {
  it('round-trips topic:offset pairs', () => {
    const cursor = new Map([
      ['orders', 57],
      ['billing.eu', 3],
    ]);
    expect(encodeCursor(cursor)).toBe('orders:57,billing.eu:3');
    expect(parseCursor('orders:57,billing.eu:3', ['orders', 'billing.eu'])).toEqual({ ok: true, cursor });
  });

  it('applies a bare number to every topic and ignores topics not in the stream', () => {
    expect(parseCursor('5', ['a', 'b'])).toEqual({
      ok: true,
      cursor: new Map([
        ['a', 5],
        ['b', 5],
      ]),
    });
    expect(parseCursor('a:1,zzz:9', ['a', 'b'])).toEqual({ ok: true, cursor: new Map([['a', 1]]) });
  });

  it.each(['a:', ':3', 'a:-1', 'a:1.5', 'a:x', 'a:1,,b:2'])('refuses %s', (text) => {
    const parsed = parseCursor(text, ['a', 'b']);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(/send topic:offset pairs joined by ","/);
  });
});

describe('parseClientOp', () => {
  it('accepts every op in its documented shape', () => {
    for (const op of [
      { op: 'subscribe', id: 1, topic: 't', after: 0, epoch: 'e' },
      { op: 'unsubscribe', id: 2, topic: 't' },
      { op: 'publish', id: 3, topic: 't', data: null, event: 'e', idempotencyKey: 'k' },
      { op: 'ack', id: 4, topic: 't', group: 'g', offsets: [1, 2] },
      { op: 'nack', id: 5, topic: 't', group: 'g', offsets: [1], delayMs: 100 },
      { op: 'auth', id: 6, token: 'x' },
    ]) {
      expect(parseClientOp(op)).toEqual({ ok: true, op });
    }
  });

  it('says what it expected and what arrived', () => {
    expect(parseClientOp({ op: 'subscribe', id: 1, topic: 5 })).toEqual({
      ok: false,
      id: 1,
      message: `"subscribe" op expects 'topic' to be a string, but got number`,
    });
    expect(parseClientOp({ op: 'ack', id: 2, topic: 't', group: 'g', offsets: [0] })).toMatchObject({
      id: 2,
      message: `"ack" op expects 'offsets' to be a non-empty array of whole numbers >= 1, but got array`,
    });
    expect(parseClientOp({ op: 'toString', id: 3 })).toMatchObject({
      message:
        'unknown op "toString"; use one of subscribe, unsubscribe, publish, ack, nack, auth, request, respond',
    });
    expect(parseClientOp(null)).toMatchObject({ id: null });
  });

  it('keeps close reasons within 123 bytes', () => {
    expect(closeReason('x'.repeat(200))).toHaveLength(123);
    expect(closeReason('short')).toBe('short');
  });
});

describe('docs/protocol.md', () => {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

  it('has a section for every WebSocket op, server frame and SSE event', () => {
    for (const op of CLIENT_OPS) expect(doc).toMatch(new RegExp(`^### Ops? .*\`${op}\``, 'm'));
    for (const frame of ['reply', 'message', 'gap', 'reset']) expect(doc).toContain(`### Frame \`${frame}\``);
    for (const event of Object.values(SseEvent)) expect(doc).toContain(`### Event \`${event}\``);
  });

  it('lists every close code', () => {
    for (const code of Object.values(CloseCode)) expect(doc).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
});
