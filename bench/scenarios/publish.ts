/**
 * `publish` (issue 2): HTTP publish throughput and latency with 1, 16 and 64 concurrent clients,
 * SQLite vs memory engine. Both servers run side by side (fresh data directory per concurrency
 * level) and the runs alternate between them (A/B interleaved), median of 3 runs per cell.
 * Target: SQLite throughput at 64 clients ≥ 50% of memory's.
 */
import type { Pool } from 'undici';
import { createPool, messagesPath, publishBody } from '../lib/http.js';
import type { Scenario, ScenarioOutcome } from '../lib/scenario.js';
import { type EngineName, type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { median, medianIndex, type Summary, summarize } from '../lib/stats.js';
import { fmt, ms, pct, printTable } from '../lib/table.js';

const CONCURRENCY = [1, 16, 64];
const ENGINES: EngineName[] = ['sqlite', 'memory'];
const RUNS = 3;
const WARMUP_MS = 1_000;
const RUN_MS = 1_500;

export interface RunResult {
  publishesPerSecond: number;
  latencyUs: Summary;
  errors: number;
  errorSamples: string[];
  serverCpuUsPerPublish: number;
}

/**
 * `concurrency` clients, each publishing as soon as its previous publish was answered, to `topic`
 * (or to `topic(i)` for client i). `headers` are added to every request (auth-cost sends
 * `Authorization: Bearer …`).
 */
export async function closedLoop(
  pool: Pool,
  server: RunningServer,
  concurrency: number,
  durationMs: number,
  topic: string | ((client: number) => string),
  headers: Record<string, string> = {},
): Promise<RunResult> {
  const pathOf = (client: number): string => messagesPath(typeof topic === 'string' ? topic : topic(client));
  const body = publishBody(100);
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  const cpu0 = server.cpuSeconds();
  const start = performance.now();
  const end = start + durationMs;
  const client = async (_: unknown, index: number): Promise<void> => {
    const path = pathOf(index);
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const response = await pool.request({
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
        const text = await response.body.text();
        if (response.statusCode === 201) latencies.push((performance.now() - t0) * 1000);
        else {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(`HTTP ${response.statusCode} ${text.slice(0, 200)}`);
        }
      } catch (error) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - start) / 1000;
  const cpu = server.cpuSeconds() - cpu0;
  return {
    publishesPerSecond: latencies.length / seconds,
    latencyUs: summarize(latencies),
    errors,
    errorSamples,
    serverCpuUsPerPublish: latencies.length ? (cpu / latencies.length) * 1e6 : Number.NaN,
  };
}

export const publishScenario: Scenario = {
  name: 'publish',
  description: 'HTTP publish throughput and p50/p99 with 1/16/64 clients, SQLite vs memory engine',
  async run(context): Promise<ScenarioOutcome> {
    const cells: Array<{ engine: EngineName; clients: number; runs: RunResult[] }> = [];
    const notes: string[] = [];
    for (const clients of CONCURRENCY) {
      const servers = new Map<EngineName, RunningServer>();
      const pools = new Map<EngineName, Pool>();
      try {
        for (const engine of ENGINES) {
          const server = await spawnSwitchboard(engine);
          servers.set(engine, server);
          pools.set(engine, createPool(server.url, clients));
        }
        context.log(`publish: ${clients} client(s): warming up`);
        for (const engine of ENGINES) {
          await closedLoop(pools.get(engine)!, servers.get(engine)!, clients, WARMUP_MS, `warmup-${clients}`);
        }
        const runs = new Map<EngineName, RunResult[]>(ENGINES.map((engine) => [engine, []]));
        for (let run = 0; run < RUNS; run++) {
          // Alternate which engine goes first so neither always follows the other's disk work.
          const order = run % 2 === 0 ? ENGINES : [...ENGINES].reverse();
          for (const engine of order) {
            const result = await closedLoop(
              pools.get(engine)!,
              servers.get(engine)!,
              clients,
              RUN_MS,
              `bench-${clients}-${run}`,
            );
            runs.get(engine)!.push(result);
            context.log(
              `publish: ${engine} ${clients} client(s) run ${run + 1}: ${fmt(result.publishesPerSecond)}/s p99 ${ms(result.latencyUs.p99)} ms`,
            );
          }
        }
        for (const engine of ENGINES) cells.push({ engine, clients, runs: runs.get(engine)! });
      } finally {
        for (const pool of pools.values()) await pool.close();
        for (const server of servers.values()) {
          if (server.crashed) notes.push(server.crashed);
          if (server.problems.length)
            notes.push(`${server.label} logged: ${server.problems.slice(0, 5).join(' | ')}`);
          await server.stop();
        }
      }
    }

    const rows = cells.map(({ engine, clients, runs }) => {
      const best = runs[medianIndex(runs, (r) => r.publishesPerSecond)]!;
      const errors = runs.reduce((sum, r) => sum + r.errors, 0);
      for (const r of runs)
        for (const sample of r.errorSamples) notes.push(`${engine}/${clients}: ${sample}`);
      return {
        engine,
        clients,
        publishesPerSecond: median(runs.map((r) => r.publishesPerSecond)),
        runsPerSecond: runs.map((r) => Math.round(r.publishesPerSecond)),
        p50Ms: best.latencyUs.p50 / 1000,
        p99Ms: best.latencyUs.p99 / 1000,
        maxMs: best.latencyUs.max / 1000,
        serverCpuUsPerPublish: median(runs.map((r) => r.serverCpuUsPerPublish)),
        errors,
      };
    });
    const ratio = (clients: number): number => {
      const sqlite = rows.find((r) => r.engine === 'sqlite' && r.clients === clients)!;
      const memory = rows.find((r) => r.engine === 'memory' && r.clients === clients)!;
      return sqlite.publishesPerSecond / memory.publishesPerSecond;
    };
    printTable({
      title: `publish — HTTP publish, ~100-byte data, closed loop (median of ${RUNS} × ${RUN_MS / 1000} s runs)`,
      headers: [
        'engine',
        'clients',
        'publishes/s',
        'runs (/s)',
        'p50 ms',
        'p99 ms',
        'max ms',
        'server CPU µs/publish',
        'errors',
      ],
      rows: rows.map((r) => [
        r.engine,
        r.clients,
        r.publishesPerSecond,
        r.runsPerSecond.join(' / '),
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        r.maxMs.toFixed(2),
        r.serverCpuUsPerPublish,
        r.errors,
      ]),
      notes: [
        `SQLite/memory throughput: ${CONCURRENCY.map((c) => `${c} client(s) ${pct(ratio(c))}`).join(', ')}`,
        'p50/p99/max are from the median run. SQLite: WAL, synchronous=FULL, group commit.',
      ],
    });
    const ratio64 = ratio(64);
    return {
      targets: [
        {
          target: 'SQLite publish throughput at 64 clients ≥ 50% of memory',
          measured: pct(ratio64),
          ok: ratio64 >= 0.5,
        },
      ],
      notes: [...new Set(notes)],
      json: {
        rows,
        ratios: Object.fromEntries(CONCURRENCY.map((c) => [c, ratio(c)])),
        runMs: RUN_MS,
        runs: RUNS,
      },
    };
  },
};
