/**
 * A gRPC subscriber survives the server being killed (SIGKILL) and restarted on the same SQLite
 * data directory: it resumes with `after` + `epoch` and gets exactly the offsets it missed.
 * The server runs as a real process (`switchboard serve`, from the sources through tsx).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { type Answer, collect, grpcClient, messagesOf } from './support.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-grpc-restart-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function serve(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /Switchboard listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  return { child, url };
}

it('resumes a Subscribe stream after SIGKILL and restart with no gap and no duplicate', async () => {
  const first = await serve();
  const before = grpcClient(first.url);
  for (let n = 1; n <= 5; n++) await before.call('Publish', { topic: 'restart.t', data: String(n) });
  const stream = before.stream('Subscribe', { topic: 'restart.t', after: 0 });
  const { events } = await collect(stream, (e) => messagesOf(e).length === 5);
  const epoch: string = events[0].ready.epoch;
  const cursor = messagesOf(events).at(-1).offset;
  expect(cursor).toBe(5);

  const ended = collect(stream, () => false, 10_000);
  first.child.kill('SIGKILL');
  const cut = await ended;
  expect(cut.ended).toBe(true); // the stream notices the crash (UNAVAILABLE)
  before.close();

  const second = await serve();
  const after = grpcClient(second.url);
  const resumed = after.stream('Subscribe', { topic: 'restart.t', after: cursor, epoch });
  const got = collect(resumed, (e) => messagesOf(e).length === 2, 10_000);
  await new Promise((r) => setTimeout(r, 200));
  for (const n of [6, 7]) await after.call('Publish', { topic: 'restart.t', data: String(n) });
  const resumedEvents: Answer[] = (await got).events;
  expect(resumedEvents.map((e) => e.event)).toEqual(['ready', 'message', 'message']); // no reset, no gap
  expect(resumedEvents[0].ready.epoch).toBe(epoch);
  expect(messagesOf(resumedEvents).map((m) => [m.offset, m.data])).toEqual([
    [6, '6'],
    [7, '7'],
  ]);
  resumed.cancel();
  after.close();
  second.child.kill('SIGTERM');
}, 60_000);
