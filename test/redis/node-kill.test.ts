/**
 * A node killed with `kill -9` (a real `switchboard serve --engine redis` process): its clients
 * move to another node with their cursor and epoch and resume with no gap and no duplicate, and
 * every publish it acknowledged before dying is in the shared log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerAvailable, startRedisServer } from '../support/redis-server.js';
import { type Answer, fetchJson, type Node, publish, startNodes, stopNodes } from './nodes.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** `switchboard serve` from source (through tsx), so the test needs no build. */
async function spawnNode(redisUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'serve', '--port', '0', '--engine', 'redis', '--redis-url', redisUrl],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'warn' } },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start in 20 s:\n${output}`)), 20_000);
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

describe.skipIf(!redisServerAvailable())('a node killed with kill -9', () => {
  let redis: RedisServer;
  let survivors: Node[];
  let doomed: { child: ChildProcess; url: string };

  beforeAll(async () => {
    redis = await startRedisServer();
    [survivors, doomed] = await Promise.all([startNodes(redis, 1), spawnNode(redis.url)]);
  }, 30_000);
  afterAll(async () => {
    doomed?.child.kill('SIGKILL');
    await stopNodes(survivors ?? []);
    await redis?.destroy();
  });

  it('loses no acknowledged publish, and its long-poll client resumes on another node', async () => {
    const survivor = { url: survivors[0]!.url };
    const total = 150;
    // A long-polling client on the doomed node that moves to the survivor when its node dies.
    const received: number[] = [];
    let base = doomed.url;
    let moved = false;
    const consumer = (async () => {
      let after = 0;
      let epoch: string | undefined;
      while (received.length < total) {
        const query = `after=${after}&wait=5&limit=1000${epoch ? `&epoch=${epoch}` : ''}`;
        let page: Answer;
        try {
          page = await fetchJson(`${base}/v1/topics/survive/messages?${query}`);
        } catch {
          base = survivor.url; // the node is gone: same cursor and epoch, another node
          moved = true;
          continue;
        }
        expect(page).toMatchObject({ status: 200, reset: false, gap: false });
        received.push(...page.messages.map((m) => m.offset));
        after = page.next;
        epoch = page.epoch ?? undefined;
      }
    })();

    // Publishers on both nodes; the doomed node's acknowledgements must all survive it.
    const acknowledged: Array<{ offset: number; data: string }> = [];
    const publishOn = async (url: string, prefix: string, count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const response = await publish({ url } as Node, 'survive', `${prefix}${i}`).catch(() => undefined);
        if (response?.status === 201)
          acknowledged.push({ offset: (await response.json()).offset, data: `${prefix}${i}` });
      }
    };
    const onDoomed = publishOn(doomed.url, 'x', 1_000);
    while (acknowledged.length < 40) await new Promise((resolve) => setTimeout(resolve, 5));
    doomed.child.kill('SIGKILL');
    await onDoomed; // its remaining requests fail: the node is gone
    const lastBefore = Math.max(...acknowledged.map((a) => a.offset));
    await publishOn(survivor.url, 'y', total - lastBefore);
    await consumer;

    expect(moved).toBe(true);
    expect(received).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const log = await fetchJson(`${survivor.url}/v1/topics/survive/messages?after=0&limit=1000`);
    const stored = new Map(log.messages.map((m) => [m.offset, m.data]));
    for (const ack of acknowledged) expect(stored.get(ack.offset)).toBe(ack.data);
  }, 30_000);
});
