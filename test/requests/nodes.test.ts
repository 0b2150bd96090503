/**
 * Request-reply and presence across nodes sharing one real redis-server: a reply given on one node
 * reaches the caller on another (first reply wins there too), a group spreads requests over
 * responders on both nodes, presence lists clients of every node, and a node killed with `kill -9`
 * (a real `switchboard serve` process with a short presence TTL) has its clients leave the lists,
 * with `leave` messages, within the TTL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/app.js';
import { type RedisServer, redisServerAvailable, startRedisServer } from '../support/redis-server.js';
import { json, post } from '../support/server.js';
import { WsClient } from './ws-client.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TTL_MS = 1_500;

interface Node {
  url: string;
  close(): Promise<void>;
}

async function startNode(redisUrl: string): Promise<Node> {
  const server = await createServer({
    host: '127.0.0.1',
    port: 0,
    engine: 'redis',
    redisUrl,
    presenceTtlMs: TTL_MS,
    presenceEvents: ['chat.*'],
  });
  return { url: await server.listen(), close: () => server.close() };
}

/** `switchboard serve` from source (through tsx), so the test needs no build. */
async function spawnNode(redisUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'serve', '--port', '0', '--engine', 'redis', '--redis-url', redisUrl],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        SWITCHBOARD_LOG_LEVEL: 'warn',
        SWITCHBOARD_PRESENCE_TTL_MS: String(TTL_MS),
        SWITCHBOARD_PRESENCE_EVENTS: 'chat.*',
      },
    },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start in 40 s:\n${output}`)), 40_000);
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
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before listening:\n${output}`));
    });
  });
  return { child, url };
}

async function presence(url: string, topic: string) {
  return json(await fetch(`${url}/v1/topics/${topic}/presence`));
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!redisServerAvailable())('request-reply and presence across Redis nodes', () => {
  let redis: RedisServer;
  let a: Node;
  let b: Node;
  let doomed: { child: ChildProcess; url: string };

  beforeAll(async () => {
    redis = await startRedisServer();
    await redis.ready();
    [a, b, doomed] = await Promise.all([startNode(redis.url), startNode(redis.url), spawnNode(redis.url)]);
  }, 60_000);
  afterAll(async () => {
    doomed?.child.kill('SIGKILL');
    await a?.close();
    await b?.close();
    await redis?.destroy();
  });

  it('a reply on node B reaches the caller on node A; a second reply (on A) gets 409', async () => {
    const responder = await WsClient.open(b.url);
    expect((await responder.reply(responder.send({ op: 'subscribe', topic: 'rpc.cross' }))).ok).toBe(true);
    const pending = post(`${a.url}/v1/topics/rpc.cross/requests?timeout=10`, { data: 'from A' });
    const request = await responder.next((f) => f.op === 'message');
    expect(request).toMatchObject({ data: 'from A', replyTo: expect.stringMatching(/^_inbox\./) });
    const replied = await responder.reply(
      responder.send({ op: 'respond', replyTo: request.replyTo, data: { via: 'B' } }),
    );
    expect(replied.ok).toBe(true);
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(await json(answer)).toMatchObject({ topic: 'rpc.cross', reply: { via: 'B' } });
    const second = await post(`${a.url}/v1/replies/${request.replyTo}`, { data: 'again' });
    expect(second.status).toBe(409);
    const third = await post(`${b.url}/v1/replies/${request.replyTo}`, { data: 'again' });
    expect(third.status).toBe(409);
    expect((await post(`${b.url}/v1/replies/_inbox.AAAAAAAAAAAAAAAAAAAAAAAA`, { data: 1 })).status).toBe(404);
    responder.close();
  });

  it('a timed-out request on A refuses a late reply on B with 409', async () => {
    const response = await post(`${a.url}/v1/topics/rpc.late/requests?timeout=1`, { data: 1 });
    expect(response.status).toBe(504);
    const log = await json(await fetch(`${b.url}/v1/topics/rpc.late/messages`));
    expect((await post(`${b.url}/v1/replies/${log.messages[0].replyTo}`, { data: 1 })).status).toBe(409);
  });

  it('a group spreads requests over responders on both nodes', async () => {
    const members = [await WsClient.open(a.url), await WsClient.open(b.url)];
    const counts = [0, 0];
    for (const [i, member] of members.entries()) {
      const id = member.send({ op: 'subscribe', topic: 'rpc.spread', group: 'g', window: 1 });
      expect((await member.reply(id)).ok).toBe(true);
      member.ws.on('message', (raw) => {
        const frame = JSON.parse(String(raw));
        if (frame.op !== 'message') return;
        counts[i]!++;
        setTimeout(() => {
          member.send({ op: 'respond', replyTo: frame.replyTo, data: i });
          member.send({ op: 'ack', topic: 'rpc.spread', group: 'g', offsets: [frame.offset] });
        }, 30);
      });
    }
    const callers = [a, b];
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        post(`${callers[n % 2]!.url}/v1/topics/rpc.spread/requests?timeout=15`, { data: n }).then(json),
      ),
    );
    expect(answers.every((answer) => answer.reply === 0 || answer.reply === 1)).toBe(true);
    expect(counts[0]! + counts[1]!).toBe(10);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
    for (const member of members) member.close();
  });

  it('lists the clients of every node; a node killed with kill -9 has its clients leave within the TTL', async () => {
    const onA = await WsClient.open(a.url);
    expect((await onA.reply(onA.send({ op: 'subscribe', topic: 'chat.room', info: { node: 'a' } }))).ok).toBe(
      true,
    );
    const onB = new EventSource(
      `${b.url}/v1/topics/chat.room/events?info=${encodeURIComponent('{"node":"b"}')}`,
    );
    const onDoomed = await WsClient.open(doomed.url);
    expect(
      (await onDoomed.reply(onDoomed.send({ op: 'subscribe', topic: 'chat.room', info: { node: 'doomed' } })))
        .ok,
    ).toBe(true);

    const all = await until(
      () => presence(b.url, 'chat.room'),
      (list) => list.count === 3,
      10_000,
    );
    expect(all.clients.map((c: { info: { node: string } }) => c.info.node).sort()).toEqual([
      'a',
      'b',
      'doomed',
    ]);
    expect((await presence(a.url, 'chat.room')).count).toBe(3);

    doomed.child.kill('SIGKILL');
    const killedAt = Date.now();
    const after = await until(
      () => presence(a.url, 'chat.room'),
      (list) => list.count === 2,
      10_000,
    );
    const tookMs = Date.now() - killedAt;
    expect(after.clients.map((c: { info: { node: string } }) => c.info.node).sort()).toEqual(['a', 'b']);
    expect(tookMs).toBeLessThan(TTL_MS + 1_000);

    // The survivors' sweep publishes the dead node's client's `leave`, once.
    const events = await until(
      async () => json(await fetch(`${a.url}/v1/topics/chat.room.presence/messages`)),
      (page) =>
        page.messages.some(
          (m: { event: string; data: { info: { node: string } } }) =>
            m.event === 'leave' && m.data.info.node === 'doomed',
        ),
      10_000,
    );
    const doomedEvents = events.messages.filter(
      (m: { data: { info: { node: string } } }) => m.data.info.node === 'doomed',
    );
    expect(doomedEvents.map((m: { event: string }) => m.event)).toEqual(['join', 'leave']);
    onA.close();
    onB.close();
  });
});
