/**
 * `redis-replication` (issue 17): what `--redis-wait-replicas` costs and buys. Skipped when
 * `redis-server` is not installed.
 *
 * - publish throughput and latency (64 closed-loop HTTP clients, one topic) against a master + 1
 *   replica, one node with `--redis-wait-replicas 0` and one with `1`, windows interleaved;
 * - a Sentinel failover (1 master + 2 replicas + 3 sentinels, down-after 1 s) under 16 closed-loop
 *   publishers: the master is SIGKILLed; seconds from the kill to the first acknowledged publish sent
 *   after it, and acknowledged messages missing from the promoted replica's log, with and without
 *   `--redis-wait-replicas 1`.
 */
import type { Pool } from 'undici';
import { SENTINEL_MASTER_NAME, startSentinelSetup } from '../../test/support/redis-sentinel.js';
import { createPool, messagesPath } from '../lib/http.js';
import { redisServerInstalled } from '../lib/redis.js';
import { type Scenario, type ScenarioOutcome, sleep } from '../lib/scenario.js';
import { type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { fmt, printTable } from '../lib/table.js';
import { closedLoop } from './publish.js';

const CLIENTS = 64;
const WINDOW_MS = 1_500;
const ROUNDS = 2;
const FAILOVER_PUBLISHERS = 16;

interface ThroughputRow {
  waitReplicas: number;
  publishesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

interface FailoverRow {
  waitReplicas: number;
  acknowledged: number;
  lost: number;
  unavailableSeconds: number;
  refused: number;
}

async function throughput(notes: string[]): Promise<ThroughputRow[]> {
  const setup = await startSentinelSetup({ replicas: 1, sentinels: 0 });
  const url = `redis://127.0.0.1:${setup.master.port}`;
  const nodes: RunningServer[] = [];
  const pools: Pool[] = [];
  try {
    for (const wait of [0, 1]) {
      nodes.push(
        await spawnSwitchboard('memory', [
          '--engine',
          'redis',
          '--redis-url',
          url,
          '--redis-wait-replicas',
          String(wait),
        ]),
      );
    }
    for (const node of nodes) pools.push(createPool(node.url, CLIENTS));
    const samples: Array<Array<{ rate: number; p50: number; p99: number; errors: number }>> = [[], []];
    for (let i = 0; i < 2; i++) await closedLoop(pools[i]!, nodes[i]!, CLIENTS, 500, 'replication-warmup');
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < 2; i++) {
        const r = await closedLoop(pools[i]!, nodes[i]!, CLIENTS, WINDOW_MS, `replication-${i}`);
        samples[i]!.push({
          rate: r.publishesPerSecond,
          p50: r.latencyUs.p50 / 1000,
          p99: r.latencyUs.p99 / 1000,
          errors: r.errors,
        });
        if (r.errorSamples.length) notes.push(`wait ${i}: ${r.errorSamples[0]}`);
      }
    }
    return samples.map((rows, waitReplicas) => ({
      waitReplicas,
      publishesPerSecond: rows.reduce((s, r) => s + r.rate, 0) / rows.length,
      p50Ms: rows.reduce((s, r) => s + r.p50, 0) / rows.length,
      p99Ms: rows.reduce((s, r) => s + r.p99, 0) / rows.length,
      errors: rows.reduce((s, r) => s + r.errors, 0),
    }));
  } finally {
    for (const pool of pools) await pool.close();
    for (const node of nodes) await node.stop();
    await setup.destroy();
  }
}

async function failover(waitReplicas: number): Promise<FailoverRow> {
  const setup = await startSentinelSetup();
  const node = await spawnSwitchboard('memory', [
    '--engine',
    'redis',
    '--redis-sentinels',
    setup.sentinelList.join(','),
    '--redis-sentinel-name',
    SENTINEL_MASTER_NAME,
    '--redis-wait-replicas',
    String(waitReplicas),
  ]);
  const pool = createPool(node.url, FAILOVER_PUBLISHERS);
  const topic = `failover-${waitReplicas}`;
  const acks: Array<{ offset: number; data: string; started: number }> = [];
  let refused = 0;
  let running = true;
  try {
    const publishers = Array.from({ length: FAILOVER_PUBLISHERS }, async (_, p) => {
      for (let i = 0; running; i++) {
        const data = `${p}-${i}`;
        const started = Date.now();
        try {
          const response = await pool.request({
            path: messagesPath(topic),
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ data }),
          });
          const body = (await response.body.json()) as { offset?: number };
          if (response.statusCode === 201) {
            acks.push({ offset: body.offset!, data, started });
            continue;
          }
        } catch {
          // counted below, like a refusal
        }
        refused++;
        await sleep(20);
      }
    });
    await sleep(2_000);
    await setup.master.kill();
    const killedAt = Date.now();
    const deadline = killedAt + 30_000;
    while (!acks.some((ack) => ack.started > killedAt + 1_000) && Date.now() < deadline) await sleep(50);
    await sleep(1_000);
    running = false;
    await Promise.all(publishers);
    const firstAfter = acks.find((ack) => ack.started > killedAt);
    const stored = new Map<number, string>();
    for (let after = 0; ; ) {
      const response = await pool.request({
        path: `${messagesPath(topic)}?after=${after}&limit=1000`,
        method: 'GET',
      });
      const page = (await response.body.json()) as {
        messages: Array<{ offset: number; data: string }>;
        next: number;
        last: number;
      };
      for (const message of page.messages) stored.set(message.offset, message.data);
      if (page.messages.length === 0 || page.next >= page.last) break;
      after = page.next;
    }
    return {
      waitReplicas,
      acknowledged: acks.length,
      lost: acks.filter((ack) => stored.get(ack.offset) !== ack.data).length,
      unavailableSeconds: firstAfter ? (firstAfter.started - killedAt) / 1000 : Number.NaN,
      refused,
    };
  } finally {
    running = false;
    await pool.close();
    await node.stop();
    await setup.destroy();
  }
}

export const redisReplicationScenario: Scenario = {
  name: 'redis-replication',
  description:
    'Redis master + replica: publish/s and p99 with/without --redis-wait-replicas 1; Sentinel failover downtime and loss',
  async run(context): Promise<ScenarioOutcome> {
    if (!redisServerInstalled()) {
      return { skipped: 'skipped: redis-server not installed', targets: [], notes: [], json: {} };
    }
    const notes: string[] = [];
    const rows = await throughput(notes);
    for (const row of rows) {
      context.log(
        `redis-replication: wait ${row.waitReplicas}: ${fmt(row.publishesPerSecond)} publishes/s, p99 ${row.p99Ms.toFixed(2)} ms`,
      );
    }
    const failovers: FailoverRow[] = [];
    for (const wait of [0, 1]) {
      const row = await failover(wait);
      failovers.push(row);
      context.log(
        `redis-replication: failover, wait ${wait}: ${row.unavailableSeconds.toFixed(1)} s unavailable, ${row.lost} of ${row.acknowledged} acknowledged lost`,
      );
    }
    printTable({
      title: 'Redis master + 1 replica, 64 clients, one topic (windows interleaved)',
      headers: ['--redis-wait-replicas', 'publishes/s', 'p50 ms', 'p99 ms', 'errors'],
      rows: rows.map((r) => [
        r.waitReplicas,
        fmt(r.publishesPerSecond),
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        r.errors,
      ]),
    });
    printTable({
      title: 'Sentinel failover under load (SIGKILL of the master, down-after 1 s)',
      headers: ['--redis-wait-replicas', 'unavailable s', 'acknowledged', 'lost', 'refused (503)'],
      rows: failovers.map((r) => [
        r.waitReplicas,
        r.unavailableSeconds.toFixed(1),
        r.acknowledged,
        r.lost,
        r.refused,
      ]),
    });
    const [async, waited] = rows as [ThroughputRow, ThroughputRow];
    return {
      targets: [
        {
          target: 'no acknowledged message lost in a failover with --redis-wait-replicas 1',
          measured: `${failovers[1]?.lost} lost`,
          ok: failovers[1]?.lost === 0,
        },
      ],
      headlines: [
        `WAIT 1 costs ${((1 - waited.publishesPerSecond / async.publishesPerSecond) * 100).toFixed(0)}% of publish throughput (${fmt(waited.publishesPerSecond)} vs ${fmt(async.publishesPerSecond)}/s), p99 ${waited.p99Ms.toFixed(1)} vs ${async.p99Ms.toFixed(1)} ms`,
        ...failovers.map(
          (f) =>
            `failover (wait ${f.waitReplicas}): ${f.unavailableSeconds.toFixed(1)} s unavailable, ${f.lost} acknowledged lost`,
        ),
      ],
      notes,
      json: { throughput: rows, failovers },
    };
  },
};
