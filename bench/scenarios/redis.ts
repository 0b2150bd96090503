/**
 * `redis` (issue 8): Switchboard nodes sharing one Redis (`--engine redis`). Skipped when
 * `redis-server` is not installed. One private redis-server; nodes are added one at a time (1, 2, 3):
 *
 * - publish throughput with 64 closed-loop HTTP clients spread over the nodes (one topic), and the
 *   Redis commands per published message from `INFO commandstats` deltas;
 * - with 2 and 3 nodes: cross-node publish → deliver latency at 1,000 msg/s (publish on node A,
 *   WebSocket subscribers on the other nodes; target p99 < 10 ms);
 * - with 2 nodes: aggregate fan-out deliveries/s to 1,000 WebSocket subscribers all on node A vs
 *   spread over A and B (windows interleaved; target 2 nodes > 1 node);
 * - beside single-node SQLite and memory publish throughput at 64 clients (the `publish` code path).
 */
import type { Pool } from 'undici';
import { FanoutRig, type FanoutWindow, waitForSubscribers } from '../lib/fanout.js';
import { createPool, messagesPath, post, publishAtRate, publishBody } from '../lib/http.js';
import {
  commandDelta,
  commandStats,
  type RedisServer,
  redisServerInstalled,
  spawnRedisNode,
  startRedis,
  stopRedis,
} from '../lib/redis.js';
import { type Scenario, type ScenarioOutcome, sleep, waitUntil } from '../lib/scenario.js';
import { type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { median, type Summary } from '../lib/stats.js';
import { fmt, ms, printTable } from '../lib/table.js';
import { SubscriberGroup } from '../lib/workers.js';
import { closedLoop } from './publish.js';

/** Closed-loop publishers in the publish windows (also of redis-cluster). */
export const CLIENTS = 64;
const PUBLISH_WARMUP_MS = 500;
const PUBLISH_MS = 1_500;
const LATENCY_RATE = 1_000;
const LATENCY_SUBSCRIBERS = 10;
const LATENCY_WARMUP_MS = 500;
const LATENCY_MS = 3_000;
const FANOUT_SUBSCRIBERS = 1_000;
const FANOUT_ROUNDS = 2;
const FANOUT_WARMUP_MS = 500;
const FANOUT_MS = 1_500;

export interface PublishRow {
  setup: string;
  nodes: number;
  publishesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Redis commands per acknowledged publish (redis rows) */
  commandsPerPublish?: number;
  commands?: Record<string, number>;
  errorSamples: string[];
}

interface LatencyRow {
  nodes: number;
  subscriberNodes: number;
  subscribers: number;
  published: number;
  publishErrors: number;
  deliveries: number;
  expected: number;
  latencyUs: Summary;
  commandsPerMessage: number;
  commands: Record<string, number>;
  lost: number;
  errors: string[];
}

/**
 * `clients` closed-loop publishers spread over `nodes`, run at once; rates and samples merged.
 * `topic` may name each client's topic (client index 0…CLIENTS-1 over all nodes).
 */
export async function spreadPublish(
  nodes: RunningServer[],
  topic: string | ((client: number) => string),
  durationMs: number,
): Promise<PublishRow> {
  const pools: Pool[] = [];
  const shares = nodes.map(
    (_, i) => Math.floor(CLIENTS / nodes.length) + (i < CLIENTS % nodes.length ? 1 : 0),
  );
  try {
    for (let i = 0; i < nodes.length; i++) pools.push(createPool(nodes[i]!.url, shares[i]!));
    const results = await Promise.all(
      nodes.map((node, i) => {
        const first = shares.slice(0, i).reduce((sum, n) => sum + n, 0);
        const topicOf = typeof topic === 'string' ? topic : (client: number) => topic(first + client);
        return closedLoop(pools[i]!, node, shares[i]!, durationMs, topicOf);
      }),
    );
    // Latency: the share-weighted mean of the per-node percentiles is close enough for a table.
    const total = results.reduce((sum, r) => sum + r.publishesPerSecond, 0);
    const weighted = (key: 'p50' | 'p99'): number =>
      results.reduce((sum, r) => sum + r.latencyUs[key] * r.publishesPerSecond, 0) / total / 1000;
    return {
      setup: `redis, ${nodes.length} node${nodes.length > 1 ? 's' : ''}`,
      nodes: nodes.length,
      publishesPerSecond: total,
      p50Ms: weighted('p50'),
      p99Ms: weighted('p99'),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
      errorSamples: results.flatMap((r) => r.errorSamples),
    };
  } finally {
    for (const pool of pools) await pool.close();
  }
}

async function crossNodeLatency(redis: RedisServer, nodes: RunningServer[]): Promise<LatencyRow> {
  const [publisher, ...others] = nodes as [RunningServer, ...RunningServer[]];
  const topic = `redis-latency-${nodes.length}`;
  const setupPool = createPool(publisher.url, 1);
  const created = await post(setupPool, messagesPath(topic), publishBody(100)).finally(() =>
    setupPool.close(),
  );
  if (created.status !== 201) throw new Error(`publish on node A: HTTP ${created.status} ${created.text}`);
  const { group, opened } = await SubscriberGroup.start({
    url: others[0]!.url,
    urls: others.map((node) => node.url),
    transport: 'ws',
    topic,
    connections: LATENCY_SUBSCRIBERS,
    workers: others.length,
    measure: 'latency',
  });
  try {
    if (opened.ok === 0) throw new Error(`no subscriber connected: ${opened.errors.join('; ')}`);
    await Promise.all(
      others.map((node) =>
        waitForSubscribers(node.url, topic, Math.floor(LATENCY_SUBSCRIBERS / others.length)),
      ),
    );
    const warm = publishAtRate(publisher.url, topic, LATENCY_RATE);
    await sleep(LATENCY_WARMUP_MS);
    await warm.stop();
    await sleep(100);
    const base = group.total;
    group.resetLatency();
    const stats0 = await commandStats(redis.port);
    const run = publishAtRate(publisher.url, topic, LATENCY_RATE);
    await sleep(LATENCY_MS);
    const { sent, errors } = await run.stop();
    const expected = (sent - errors) * opened.ok;
    await waitUntil(() => group.total - base >= expected, 5_000, 10);
    const commands = commandDelta(stats0, await commandStats(redis.port));
    const report = await group.report();
    const totalCommands = [...commands.values()].reduce((sum, n) => sum + n, 0);
    return {
      nodes: nodes.length,
      subscriberNodes: others.length,
      subscribers: opened.ok,
      published: sent,
      publishErrors: errors,
      deliveries: report.latency.count,
      expected,
      latencyUs: report.latency.summary(),
      commandsPerMessage: totalCommands / Math.max(1, sent - errors),
      commands: Object.fromEntries(commands),
      lost: report.lost.length,
      errors: report.errors,
    };
  } finally {
    await group.close();
  }
}

export const redisScenario: Scenario = {
  name: 'redis',
  description:
    'Redis engine, 1–3 nodes: publish/s, cross-node latency at 1,000 msg/s, fan-out 2 vs 1 node, commands/publish',
  async run(context): Promise<ScenarioOutcome> {
    if (!redisServerInstalled()) {
      return { skipped: 'skipped: redis-server not installed', targets: [], notes: [], json: {} };
    }
    const notes: string[] = [];
    const publishRows: PublishRow[] = [];
    const latencyRows: LatencyRow[] = [];
    const fanout: Record<'one' | 'two', FanoutWindow[]> = { one: [], two: [] };
    const nodes: RunningServer[] = [];
    const redis = await startRedis();
    const noteServer = (server: RunningServer): void => {
      if (server.crashed) notes.push(server.crashed);
      if (server.problems.length)
        notes.push(`${server.label} logged: ${server.problems.slice(0, 3).join(' | ')}`);
    };
    try {
      for (let count = 1; count <= 3; count++) {
        nodes.push(await spawnRedisNode(redis.url, count - 1));
        const topic = `redis-publish-${count}`;
        await spreadPublish(nodes, topic, PUBLISH_WARMUP_MS);
        const before = await commandStats(redis.port);
        const row = await spreadPublish(nodes, topic, PUBLISH_MS);
        const delta = commandDelta(before, await commandStats(redis.port));
        const published = row.publishesPerSecond * (PUBLISH_MS / 1000);
        row.commands = Object.fromEntries(delta);
        row.commandsPerPublish = [...delta.values()].reduce((sum, n) => sum + n, 0) / Math.max(1, published);
        publishRows.push(row);
        context.log(
          `redis: ${count} node(s): ${fmt(row.publishesPerSecond)} publishes/s, ${fmt(row.commandsPerPublish)} commands/publish`,
        );

        if (count >= 2) {
          const latency = await crossNodeLatency(redis, nodes);
          latencyRows.push(latency);
          context.log(`redis: ${count} nodes: cross-node p99 ${ms(latency.latencyUs.p99)} ms`);
        }

        if (count === 2) {
          // Both rigs stay connected and take turns: all subscribers on node A vs spread over A and B.
          const rigs: Array<{ key: 'one' | 'two'; rig: FanoutRig }> = [];
          try {
            for (const [key, spread] of [
              ['one', [nodes[0]!]],
              ['two', [nodes[0]!, nodes[1]!]],
            ] as const) {
              const started = await FanoutRig.start({
                label: `fan-out ${key}`,
                server: nodes[0]!,
                transport: 'ws',
                subscribers: FANOUT_SUBSCRIBERS,
                workers: 2,
                topic: `redis-fanout-${key}`,
                subscriberServers: [...spread],
              });
              if (!started.rig) throw new Error(`fan-out rig: ${started.unavailable}`);
              rigs.push({ key, rig: started.rig });
            }
            for (let round = 0; round < FANOUT_ROUNDS; round++) {
              const order = round % 2 === 0 ? rigs : [...rigs].reverse();
              for (const { key, rig } of order) {
                const window = await rig.window(FANOUT_WARMUP_MS, FANOUT_MS);
                fanout[key].push(window);
                context.log(
                  `redis: fan-out ${key} node(s) round ${round + 1}: ${fmt(window.deliveriesPerSecond)}/s`,
                );
              }
            }
            for (const { key, rig } of rigs) {
              const lost = rig.lostSummary();
              if (lost) notes.push(`fan-out ${key}: ${lost}`);
              if (rig.publishFailures.length) notes.push(`fan-out ${key}: ${rig.publishFailures.join('; ')}`);
            }
          } finally {
            for (const { rig } of rigs) await rig.close();
          }
        }
      }
    } finally {
      for (const node of nodes) noteServer(node);
      for (const node of nodes) await node.stop();
      await stopRedis(redis);
    }

    for (const engine of ['sqlite', 'memory'] as const) {
      const server = await spawnSwitchboard(engine);
      const pool = createPool(server.url, CLIENTS);
      try {
        await closedLoop(pool, server, CLIENTS, PUBLISH_WARMUP_MS, 'warmup');
        const r = await closedLoop(pool, server, CLIENTS, PUBLISH_MS, 'bench');
        publishRows.push({
          setup: `${engine}, 1 node`,
          nodes: 1,
          publishesPerSecond: r.publishesPerSecond,
          p50Ms: r.latencyUs.p50 / 1000,
          p99Ms: r.latencyUs.p99 / 1000,
          errors: r.errors,
          errorSamples: r.errorSamples,
        });
      } finally {
        await pool.close();
        noteServer(server);
        await server.stop();
      }
    }
    for (const row of publishRows)
      for (const sample of row.errorSamples) notes.push(`${row.setup}: ${sample}`);

    printTable({
      title: `redis — HTTP publish, ${CLIENTS} closed-loop clients spread over the nodes (one topic, ${PUBLISH_MS / 1000} s)`,
      headers: ['setup', 'publishes/s', 'p50 ms', 'p99 ms', 'errors', 'Redis commands/publish', 'commands'],
      rows: publishRows.map((r) => [
        r.setup,
        r.publishesPerSecond,
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        r.errors,
        r.commandsPerPublish === undefined ? '-' : r.commandsPerPublish.toFixed(2),
        r.commands
          ? Object.entries(r.commands)
              .sort((a, b) => b[1] - a[1])
              .slice(0, 4)
              .map(([command, calls]) => `${command} ${fmt(calls)}`)
              .join(', ')
          : '',
      ]),
      notes: [
        'Redis: one local redis-server (AOF, appendfsync everysec), nodes added one at a time on 2 shared cores.',
        'p50/p99 for several nodes: per-node percentiles weighted by throughput.',
      ],
    });
    printTable({
      title: `redis — cross-node publish → deliver at ${fmt(LATENCY_RATE)} msg/s (publish on node A, ${LATENCY_SUBSCRIBERS} WebSocket subscribers on the other nodes)`,
      headers: [
        'nodes',
        'deliveries',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'Redis commands/message',
        'lost',
      ],
      rows: latencyRows.map((r) => [
        r.nodes,
        `${fmt(r.deliveries)}/${fmt(r.expected)}`,
        ms(r.latencyUs.p50),
        ms(r.latencyUs.p90),
        ms(r.latencyUs.p99),
        ms(r.latencyUs.max),
        r.commandsPerMessage.toFixed(2),
        r.lost,
      ]),
      notes: ['Commands/message here include the reads of the subscribing nodes.'],
    });
    const fanoutMedian = (key: 'one' | 'two'): number =>
      median(fanout[key].map((w) => w.deliveriesPerSecond));
    printTable({
      title: `redis — fan-out to ${fmt(FANOUT_SUBSCRIBERS)} WebSocket subscribers, publisher on node A (${FANOUT_ROUNDS} interleaved ${FANOUT_MS / 1000} s windows)`,
      headers: [
        'subscribers on',
        'deliveries/s',
        'windows (/s)',
        'msgs/s',
        'server CPU µs/delivery',
        'server CPU load',
      ],
      rows: (['one', 'two'] as const).map((key) => [
        key === 'one' ? 'node A (1 node)' : 'nodes A + B (2 nodes)',
        fanoutMedian(key),
        fanout[key].map((w) => fmt(w.deliveriesPerSecond)).join(' / '),
        median(fanout[key].map((w) => w.messagesPerSecond)),
        median(fanout[key].map((w) => w.serverCpuPerMillion)),
        median(fanout[key].map((w) => w.serverCpuLoad)),
      ]),
      notes: [
        'The 1-node case runs while node B is up but idle (it only hears wake-ups); server CPU sums the nodes.',
      ],
    });

    const targets = latencyRows.map((r) => ({
      target: `cross-node publish → deliver p99 < 10 ms at ${fmt(LATENCY_RATE)} msg/s, ${r.nodes} nodes`,
      measured: `${ms(r.latencyUs.p99)} ms`,
      ok: r.deliveries > 0 ? r.latencyUs.p99 < 10_000 : false,
    }));
    const one = fanoutMedian('one');
    const two = fanoutMedian('two');
    targets.push({
      target: 'aggregate fan-out with 2 nodes > 1 node',
      measured: `${fmt(two)} vs ${fmt(one)} deliveries/s (${(two / one).toFixed(2)}×)`,
      ok: Number.isFinite(one) && Number.isFinite(two) ? two > one : false,
    });
    for (const r of latencyRows) {
      if (r.deliveries < r.expected)
        notes.push(`${r.nodes} nodes: ${r.deliveries} of ${r.expected} deliveries arrived`);
      for (const error of r.errors) notes.push(`${r.nodes} nodes latency: ${error}`);
    }
    const redisRows = publishRows.filter((r) => r.commandsPerPublish !== undefined);
    return {
      targets,
      headlines: [
        `publishes/s at ${CLIENTS} clients: ${publishRows.map((r) => `${r.setup} ${fmt(r.publishesPerSecond)}`).join(', ')}`,
        `Redis commands per publish: ${redisRows.map((r) => `${r.nodes} node(s) ${r.commandsPerPublish!.toFixed(2)}`).join(', ')}`,
      ],
      notes: [...new Set(notes)],
      json: {
        clients: CLIENTS,
        publish: publishRows,
        latency: latencyRows,
        fanout: {
          subscribers: FANOUT_SUBSCRIBERS,
          oneNode: fanout.one,
          twoNodes: fanout.two,
          ratio: two / one,
        },
      },
    };
  },
};
