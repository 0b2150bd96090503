/**
 * --redis-wait-replicas on a real master + 1 replica: acknowledged appends are on the replica,
 * concurrent appends share WAITs (one per batch, not per message), and asking for more replicas
 * than confirm answers 503 `unavailable` saying the write may still survive, without losing it.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine } from '../../src/engines/redis/index.js';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { type SentinelSetup, startSentinelSetup } from '../support/redis-sentinel.js';
import { redisServerAvailable } from '../support/redis-server.js';

const retention = { maxCount: 10_000, maxAgeMs: 3_600_000 };
const append = (engine: RedisEngine, topic: string, data: string) =>
  engine.append({ topic, entries: [{ data }], now: Date.now(), dedupeWindowMs: 60_000, retention });

async function waitCalls(port: number): Promise<number> {
  const redis = new Redis({ port, host: '127.0.0.1' });
  try {
    const stats = await redis.info('commandstats');
    return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  } finally {
    redis.disconnect();
  }
}

describe.skipIf(!redisServerAvailable())('--redis-wait-replicas (master + 1 replica)', () => {
  let setup: SentinelSetup;
  const engines: RedisEngine[] = [];
  const open = async (waitReplicas: number, waitReplicasTimeoutMs = 2_000) => {
    const engine = createRedisEngine({
      url: `redis://127.0.0.1:${setup.master.port}`,
      keyPrefix: `wait${waitReplicas}`,
      waitReplicas,
      waitReplicasTimeoutMs,
      warn: () => {},
    });
    engines.push(engine);
    await engine.open();
    return engine;
  };

  beforeAll(async () => {
    setup = await startSentinelSetup({ replicas: 1, sentinels: 0 });
  }, 30_000);
  afterAll(async () => {
    await Promise.all(engines.map((engine) => engine.close()));
    await setup?.destroy();
  });

  it('acknowledges once the replica has it, with one WAIT per batch of concurrent appends', async () => {
    const engine = await open(1);
    const before = await waitCalls(setup.master.port);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => append(engine, 'batch', `m${i}`)),
    );
    const waits = (await waitCalls(setup.master.port)) - before;
    expect(new Set(results.map((r) => r.outcomes[0]!.offset)).size).toBe(200);
    expect(waits).toBeGreaterThan(0);
    expect(waits).toBeLessThan(100); // shared: far fewer WAITs than appends
    console.log(`[wait-replicas] 200 concurrent appends used ${waits} WAIT calls`);

    // Acknowledged means on the replica now, not eventually.
    const replica = new Redis({ port: setup.replicas[0]!.port, host: '127.0.0.1' });
    try {
      expect(await replica.hget('wait1:{batch}:meta', 'last')).toBe('200');
    } finally {
      replica.disconnect();
    }
  });

  it('answers 503 when fewer replicas confirm in time; the message is stored all the same', async () => {
    const engine = await open(2, 200); // only one replica exists
    const failure = await append(engine, 'short', 'x').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SwitchboardError);
    expect((failure as SwitchboardError).code).toBe('unavailable');
    expect((failure as Error).message).toMatch(
      /only [01] of 2 Redis replicas confirmed.*may or may not survive/,
    );
    const read = await engine.read('short', 0, 10);
    expect(read.messages.map((m) => m.data)).toEqual(['x']);
  });

  it('without it, appends issue no WAIT at all', async () => {
    const engine = await open(0);
    const before = await waitCalls(setup.master.port);
    await Promise.all(Array.from({ length: 20 }, (_, i) => append(engine, 'plain', `m${i}`)));
    expect((await waitCalls(setup.master.port)) - before).toBe(0);
  });
});
