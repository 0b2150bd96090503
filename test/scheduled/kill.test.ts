/**
 * Durability of delayed delivery against the real process (`switchboard serve`, built dist/):
 * kill -9 with 1,000 scheduled messages pending loses none and appends none twice; what fell due
 * while the server was down is appended at start, in due order. SQLite, and Redis when installed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { spawnServer } from '../support/process.js';
import { type RedisServer, redisServerAvailable, startRedisServer } from '../support/redis-server.js';

const TOTAL = 1_000;
const dirs: string[] = [];
let redis: RedisServer | undefined;
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await redis?.destroy();
});

interface Engine {
  name: string;
  args(): Promise<string[]>;
}

const ENGINES: Engine[] = [
  {
    name: 'sqlite',
    async args() {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-sched-'));
      dirs.push(dir);
      return ['--data-dir', dir];
    },
  },
  ...(redisServerAvailable()
    ? [
        {
          name: 'redis',
          async args() {
            redis ??= await startRedisServer();
            return ['--engine', 'redis', '--redis-url', redis.url];
          },
        },
      ]
    : []),
];

describe.each(ENGINES)('kill -9 with scheduled messages pending: $name', (engine) => {
  it('loses none, appends none twice, and appends what fell due while down at start, in due order', async () => {
    const args = await engine.args();
    const first = await spawnServer(args);
    const topic = `kill-${engine.name}-${Date.now()}`;
    const dueFrom = Date.now() + 4_000;
    // Due times scrambled against the scheduling order (7 is coprime with 1,000): due order ≠ creation order.
    const dueOf = (i: number): number => dueFrom + ((i * 7) % TOTAL);
    // One WebSocket, 1,000 publish ops in flight: scheduling takes well under the 4 s before the first is due.
    const ws = new WebSocket(`${first.url.replace(/^http/, 'ws')}/v1/ws`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const replies = new Map<number, { ok: boolean; scheduled?: string }>();
    const allReplied = new Promise<void>((resolve) => {
      ws.on('message', (raw) => {
        const frame = JSON.parse(raw.toString());
        if (frame.op === 'reply') replies.set(frame.id, frame);
        if (replies.size === TOTAL) resolve();
      });
    });
    for (let i = 0; i < TOTAL; i++) {
      ws.send(JSON.stringify({ op: 'publish', id: i + 1, topic, data: i, deliverAt: dueOf(i) }));
    }
    await allReplied;
    expect([...replies.values()].filter((r) => r.ok && r.scheduled).length).toBe(TOTAL);
    const pending = (await (await fetch(`${first.url}/v1/scheduled?topic=${topic}&limit=1000`)).json()) as {
      scheduled: unknown[];
    };
    expect(pending.scheduled.length).toBeGreaterThan(0); // (on a very slow machine some may be due already)
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    // Stay down until every message is due, then start again.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueFrom + TOTAL + 200 - Date.now())));
    const second = await spawnServer(args);
    try {
      const read = async () => {
        const page = (await (await fetch(`${second.url}/v1/topics/${topic}/messages?limit=1000`)).json()) as {
          messages: Array<{ offset: number; data: number }>;
          last: number;
        };
        return page;
      };
      await expect.poll(async () => (await read()).last, { timeout: 15_000 }).toBeGreaterThanOrEqual(TOTAL);
      await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more may follow
      const page = await read();
      expect(page.last).toBe(TOTAL);
      expect(page.messages.map((m) => m.offset)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
      const expected = Array.from({ length: TOTAL }, (_, i) => i).sort((a, b) => dueOf(a) - dueOf(b));
      expect(page.messages.map((m) => m.data)).toEqual(expected);
      const left = (await (await fetch(`${second.url}/v1/scheduled?topic=${topic}`)).json()) as {
        scheduled: unknown[];
      };
      expect(left.scheduled).toEqual([]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 60_000);
});
