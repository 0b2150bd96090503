/** Pure pieces of the SDK: the SSE parser, backoff, the cursor rules, and constants kept in sync. */
import { describe, expect, test } from 'vitest';
import { backoffDelay } from '../../src/client/backoff.js';
import { CLOSE_NORMAL, CLOSE_UNAUTHORIZED } from '../../src/client/errors.js';
import { TopicCursor } from '../../src/client/resume.js';
import { type SseEventFields, SseParser } from '../../src/client/transports/sse-parser.js';
import { CloseCode } from '../../src/protocol/ws.js';

describe('SseParser', () => {
  const parse = (...chunks: string[]): SseEventFields[] => {
    const events: SseEventFields[] = [];
    const parser = new SseParser((event) => events.push(event));
    for (const chunk of chunks) parser.feed(chunk);
    return events;
  };

  test('parses fields across chunk boundaries, CRLF and CR line ends, comments and multi-line data', () => {
    expect(
      parse(
        'id: 1\nda',
        'ta: {"a":\r\ndata: 1}\r\n\r',
        '\n: keep-alive\n\nevent: gap\rdata: x\r\r',
        ': a lone CR waits for the next chunk\n',
      ),
    ).toEqual([
      { event: 'message', data: '{"a":\n1}' },
      { event: 'gap', data: 'x' },
    ]);
  });

  test('dispatches nothing for blocks without data (retry hints, bare ids)', () => {
    expect(parse('retry: 2500\n\nid: 7\n\n')).toEqual([]);
  });
});

test('backoff grows exponentially to the cap, with jitter in the upper half', () => {
  const options = { minDelayMs: 100, maxDelayMs: 1_000 };
  expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 0))).toEqual([
    50, 100, 200, 400, 500, 500,
  ]);
  expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 1))).toEqual([
    100, 200, 400, 800, 1000, 1000,
  ]);
});

test('cursor: drops offsets already delivered, moves on gaps, starts over on reset', () => {
  const cursor = new TopicCursor(5, 'e1');
  expect([5, 6, 6, 7, 3].map((offset) => cursor.accept(offset))).toEqual([false, true, false, true, false]);
  cursor.gap(20);
  expect(cursor.accept(20)).toBe(false);
  expect(cursor.accept(21)).toBe(true);
  cursor.reset('e2');
  expect(cursor.position()).toEqual({ after: 0, epoch: 'e2' });
  expect(cursor.accept(1)).toBe(true);
  const live = new TopicCursor();
  expect(live.position()).toEqual({ after: undefined, epoch: undefined });
  live.started(40, null);
  expect(live.position()).toEqual({ after: 40, epoch: undefined });
});

test("the client's close codes equal the protocol's", () => {
  expect(CLOSE_NORMAL).toBe(CloseCode.Normal);
  expect(CLOSE_UNAUTHORIZED).toBe(CloseCode.Unauthorized);
});

test('the SDK imports nothing outside src/client and src/protocol (isomorphism)', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { dirname, join, relative, resolve } = await import('node:path');
  const root = resolve(import.meta.dirname, '../../src');
  const files = readdirSync(join(root, 'client'), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  );
  const outside: string[] = [];
  let checked = 0;
  for (const file of files) {
    const path = join(root, 'client', file);
    for (const [, specifier] of readFileSync(path, 'utf8').matchAll(
      /^(?:import|export)\b[^;]*? from '([^']+)'/gms,
    )) {
      checked++;
      const target = relative(root, resolve(dirname(path), specifier!));
      if (!specifier!.startsWith('.') || !/^(client|protocol)\//.test(target))
        outside.push(`${file}: ${specifier}`);
    }
  }
  expect(outside).toEqual([]);
  expect(checked).toBeGreaterThan(50);
});
