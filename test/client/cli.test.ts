/**
 * The CLI's client commands as a user runs them (the built `dist/cli/main.js` against a real
 * server): `subscribe --via` each transport prints one JSON message per line, `--group` consumes,
 * `jobs submit --wait` follows a job to its result, and `--help` shows examples.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI } from '../support/process.js';
import type { TestServer } from '../support/server.js';
import { memoryServer, publishMany, uniqueTopic, waitFor } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await memoryServer();
});
afterAll(() => server.close());

interface Run {
  child: ChildProcess;
  lines: () => string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(...args: string[]): Run {
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines: () => out.split('\n').filter(Boolean), stderr: () => err, exited };
}

describe.each(['ws', 'sse', 'longpoll', 'poll'])('switchboard subscribe --via %s', (via) => {
  test('prints each message once as a JSON line, from --after', async () => {
    const topic = uniqueTopic();
    await publishMany(server.url, topic, 2);
    const cli = run('subscribe', topic, '--via', via, '--after', '0', '--interval', '50');
    try {
      await waitFor('2 lines', () => cli.lines().length >= 2, 8_000);
      await publishMany(server.url, topic, 1, 2);
      await waitFor('3 lines', () => cli.lines().length >= 3);
      const messages = cli.lines().map((line) => JSON.parse(line));
      expect(messages.map((m) => [m.topic, m.offset, m.data])).toEqual([
        [topic, 1, { n: 0 }],
        [topic, 2, { n: 1 }],
        [topic, 3, { n: 2 }],
      ]);
    } finally {
      cli.child.kill('SIGINT');
      expect(await cli.exited).toBe(0);
    }
  });
});

test('switchboard subscribe --group consumes (and acks) each message', async () => {
  const topic = uniqueTopic();
  await publishMany(server.url, topic, 3);
  const cli = run('subscribe', topic, '--group', 'cli');
  try {
    await waitFor('3 lines', () => cli.lines().length >= 3, 8_000);
    expect(cli.lines().map((line) => JSON.parse(line).offset)).toEqual([1, 2, 3]);
    const committed = async () =>
      (await (await fetch(`${server.url}/v1/topics/${topic}/groups/cli`)).json()).committed;
    await expect.poll(committed).toBe(3);
  } finally {
    cli.child.kill('SIGINT');
    await cli.exited;
  }
});

test('switchboard publish, then jobs submit --wait follows the job to its result', async () => {
  const topic = uniqueTopic();
  const published = run('publish', topic, '{"id":1}', '--event', 'created');
  expect(await published.exited).toBe(0);
  expect(JSON.parse(published.lines()[0]!)).toMatchObject({ topic, offset: 1, duplicate: false });

  const queue = uniqueTopic('q');
  const submit = run('jobs', 'submit', queue, '{"image":"cat.png"}', '--wait');
  const claim = await fetch(`${server.url}/v1/queues/${queue}/claim?wait=5`, { method: 'POST' });
  const { job, lease } = await claim.json();
  const post = (path: string, body: unknown) =>
    fetch(`${server.url}/v1/jobs/${job.id}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post('complete', { lease, result: { ok: true } });
  expect(await submit.exited).toBe(0);
  const states = submit.lines().map((line) => JSON.parse(line));
  expect(states.at(-1)).toMatchObject({ id: job.id, status: 'succeeded', result: { ok: true } });
});

test('--help shows examples, and a bad --via is a clear error', async () => {
  const help = run('subscribe', '--help');
  await help.exited;
  expect(help.lines().join('\n')).toContain('switchboard subscribe orders --via sse | jq .data');
  const bad = run('subscribe', 'orders', '--via', 'carrier-pigeon');
  expect(await bad.exited).toBe(1);
  expect(bad.stderr()).toContain('--via carrier-pigeon is unknown; use ws, sse, longpoll or poll');
});
