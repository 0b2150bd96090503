/**
 * Request-reply through the client SDK (over WebSocket and over plain HTTP) and the CLI
 * (`switchboard request`, `switchboard respond -- CMD`, the built dist/cli/main.js) against a real
 * server: replies arrive, timeouts reject with `timeout`, a group spreads requests over responders.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwitchboardClient } from '../../src/client/index.js';
import { memoryServer, recordedClient, uniqueTopic, waitFor } from '../client/support.js';
import { CLI } from '../support/process.js';
import { json, post, type TestServer } from '../support/server.js';

let server: TestServer;
const clients: SwitchboardClient[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  server = await memoryServer();
});
afterAll(async () => {
  for (const client of clients) client.close();
  for (const child of children) child.kill('SIGKILL');
  await server.close();
});

function client(transports: 'websocket' | 'poll') {
  const recorded = recordedClient(server.url, { transports });
  clients.push(recorded.client);
  return recorded.client;
}

describe.each(['websocket', 'poll'] as const)('SDK request/respond via %s', (transports) => {
  it('answers a request with the handler result, and times out without a responder', async () => {
    const topic = uniqueTopic('rpc');
    const responder = client(transports);
    const caller = client(transports);
    await Promise.all([responder.ready(), caller.ready()]);
    const answering = responder.respond<{ a: number; b: number }>(topic, async (request) => ({
      sum: request.data.a + request.data.b,
    }));
    // A polling responder starts at the log's end with its first poll; a WebSocket one joins the feed.
    if (transports === 'poll') await new Promise((resolve) => setTimeout(resolve, 500));
    else await waitFor('the responder to subscribe', () => server.server.hub.feed.size >= 1, 5_000);
    const answer = await caller.request(topic, { a: 2, b: 3 }, { timeoutMs: 5_000 });
    expect(answer).toMatchObject({ topic, reply: { sum: 5 } });
    expect(answer.replyTo).toMatch(/^_inbox\./);
    answering.close();

    const started = Date.now();
    await expect(caller.request(uniqueTopic('nobody'), 1, { timeoutMs: 1_000 })).rejects.toMatchObject({
      code: 'timeout',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    await expect(caller.request(topic, 1, { timeoutMs: 0 })).rejects.toMatchObject({ code: 'bad_request' });
  });
});

it('SDK respond with a group spreads requests over its members', async () => {
  const topic = uniqueTopic('pool');
  const seen = [0, 0];
  const members = [client('websocket'), client('websocket')];
  await Promise.all(members.map((member) => member.ready()));
  members.forEach((member, i) => {
    member.respond(
      topic,
      async (request) => {
        seen[i]!++;
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { by: i, n: request.data };
      },
      { group: 'workers' },
    );
  });
  await new Promise((resolve) => setTimeout(resolve, 200)); // both members joined
  const caller = client('websocket');
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, n) =>
      caller.request<{ by: number; n: number }>(topic, n, { timeoutMs: 10_000 }),
    ),
  );
  expect(answers.map((a) => a.reply.n)).toEqual(Array.from({ length: 10 }, (_, n) => n));
  expect(seen[0]! + seen[1]!).toBe(10);
  expect(seen[0]).toBeGreaterThan(0);
  expect(seen[1]).toBeGreaterThan(0);
});

function runCli(args: string[]): {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, SWITCHBOARD_URL: server.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

describe('CLI', { timeout: 60_000 }, () => {
  it('switchboard respond -- CMD answers with the command output; switchboard request prints it', async () => {
    const topic = uniqueTopic('cli');
    // The command sees the request data on stdin and prints the reply: here, the numbers' sum.
    const responder = runCli([
      'respond',
      topic,
      '--',
      process.execPath,
      '-e',
      'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{const [a,b]=JSON.parse(s);console.log(JSON.stringify({sum:a+b}))})',
    ]);
    await waitFor('the responder to subscribe', () => responder.err().includes('answering requests'), 30_000);
    await waitFor('its subscription', () => server.server.hub.feed.size >= 1, 30_000);
    const request = runCli(['request', topic, '[20,22]', '--timeout', '30s']);
    expect(await request.exited).toBe(0);
    expect(JSON.parse(request.out())).toEqual({ sum: 42 });

    // A plain-text output goes back as a JSON string; --full prints the whole answer.
    const full = runCli(['request', topic, '[1,1]', '--full']);
    expect(await full.exited).toBe(0);
    expect(JSON.parse(full.out())).toMatchObject({ topic, reply: { sum: 2 } });
    responder.child.kill('SIGINT');
    expect(await responder.exited).toBe(0);
  });

  it('switchboard request exits 1 with timeout when nobody answers', async () => {
    const request = runCli(['request', uniqueTopic('none'), '"hi"', '--timeout', '1s']);
    expect(await request.exited).toBe(1);
    expect(request.err()).toMatch(/no reply/);
  });

  it('a reply over HTTP to a request the CLI made reaches it', async () => {
    const topic = uniqueTopic('manual');
    const request = runCli(['request', topic, '{"q":1}', '--timeout', '30s']);
    let replyTo: string | undefined;
    const deadline = Date.now() + 30_000; // the CLI process starts slowly on a busy machine
    while (replyTo === undefined && Date.now() < deadline) {
      const log = await json(await fetch(`${server.url}/v1/topics/${topic}/messages`));
      replyTo = log.messages?.[0]?.replyTo;
      if (replyTo === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await post(`${server.url}/v1/replies/${replyTo}`, 'plain words', 'text/plain')).status).toBe(204);
    expect(await request.exited).toBe(0);
    expect(JSON.parse(request.out())).toBe('plain words');
  });
});
