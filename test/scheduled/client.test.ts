/**
 * Delayed delivery from the client SDK (over WebSocket and over plain HTTP) and from the CLI
 * (`switchboard publish --delay`, the built dist/cli/main.js) against a real server.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration, parseTime } from '../../src/cli/durations.js';
import { connect, type Message } from '../../src/client/index.js';
import { FAST, memoryServer, uniqueTopic, waitFor } from '../client/support.js';
import { CLI } from '../support/process.js';
import type { TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await memoryServer();
});
afterAll(() => server.close());

describe.each(['websocket', 'poll'] as const)('SDK publish with a delay over %s', (transport) => {
  it('answers the schedule, delivers the message when due, lists and cancels', async () => {
    const client = connect(server.url, { ...FAST, transports: transport });
    try {
      const topic = uniqueTopic('sdk');
      const received: Message[] = [];
      const subscription = client.subscribe(topic, { after: 0, onMessage: (m) => received.push(m) });
      const answer = await client.publish(topic, { n: 1 }, { delayMs: 1_500, event: 'later' });
      expect(answer).toEqual({
        topic,
        scheduled: expect.stringMatching(/^sch_/),
        deliverAt: expect.any(Number),
        duplicate: false,
      });
      const doomed = await client.publish(topic, 'never', { deliverAt: Date.now() + 1_500 });
      expect((await client.scheduled(topic)).map((s) => s.id)).toEqual([answer.scheduled, doomed.scheduled]);
      await client.cancelScheduled(doomed.scheduled);
      await expect(client.cancelScheduled(doomed.scheduled)).rejects.toMatchObject({ code: 'not_found' });
      await waitFor('the delayed message', () => received.length >= 1, 5_000);
      expect(received[0]).toMatchObject({ topic, offset: 1, event: 'later', data: { n: 1 } });
      expect(received[0]!.time).toBeGreaterThanOrEqual(answer.deliverAt);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received).toHaveLength(1); // the canceled one never came
      await expect(client.publish(topic, 1, { delayMs: -1 })).rejects.toMatchObject({ code: 'bad_request' });
      subscription.unsubscribe();
    } finally {
      client.close();
    }
  });
});

function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, SWITCHBOARD_URL: server.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk;
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

describe('switchboard publish --delay / --at', () => {
  it('schedules the message and prints the schedule; it is appended when due', async () => {
    const topic = uniqueTopic('cli');
    const before = Date.now();
    const { code, out } = await cli('publish', topic, '"stand up"', '--delay', '300ms');
    expect(code).toBe(0);
    const answer = JSON.parse(out.trim());
    expect(answer).toMatchObject({ topic, scheduled: expect.stringMatching(/^sch_/), duplicate: false });
    expect(answer.deliverAt).toBeGreaterThanOrEqual(before + 300);
    const read = async () =>
      (
        (await (await fetch(`${server.url}/v1/topics/${topic}/messages?wait=5`)).json()) as {
          messages: Message[];
        }
      ).messages;
    const messages = await read();
    expect(messages).toEqual([expect.objectContaining({ offset: 1, data: 'stand up' })]);
  }, 60_000);

  it('refuses a duration it cannot read with a clear message (exit 1)', async () => {
    const bad = await cli('publish', uniqueTopic('cli'), '1', '--delay', 'soon');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--delay "soon" is not a duration/);
  }, 60_000);

  it('reads durations and times as documented', () => {
    expect([parseDuration('500ms', 'd'), parseDuration('10s', 'd'), parseDuration('1.5m', 'd')]).toEqual([
      500, 10_000, 90_000,
    ]);
    expect([parseDuration('2h', 'd'), parseDuration('1d', 'd'), parseDuration('250', 'd')]).toEqual([
      7_200_000, 86_400_000, 250,
    ]);
    expect(() => parseDuration('-1s', '--delay')).toThrow(/not a duration/);
    expect(parseTime('2026-12-24T18:00:00Z', '--at')).toBe(Date.UTC(2026, 11, 24, 18));
    expect(parseTime('1700000000000', '--at')).toBe(1_700_000_000_000);
    expect(() => parseTime('someday', '--at')).toThrow(/not a time/);
  });
});
