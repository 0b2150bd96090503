/**
 * `npm run bench [-- scenario…]`: runs the benchmark scenarios in order, prints a table per scenario,
 * writes bench/results/<scenario>.json, and ends with one line per target.
 *
 *   npm run bench                      every scenario (about 6 minutes on a 2-core machine)
 *   npm run bench -- publish longpoll  only these
 *   npm run bench -- --list            what there is
 *
 * The servers under test run as child processes; the load comes from this process and from
 * subscriber worker processes (bench/workers/). Numbers taken while other work runs on the machine
 * are noisy: read differences under ~25% between single runs as noise (PERF-NOTES.md).
 */
import { loadAverage } from './lib/proc.js';
import { writeResult } from './lib/results.js';
import type { Scenario, ScenarioContext, ScenarioOutcome } from './lib/scenario.js';
import { BENCH_SERVER_ENV, stopAllServers } from './lib/server.js';
import { verdict } from './lib/table.js';
import { authCostScenario } from './scenarios/auth-cost.js';
import { fanoutFloorScenario, fanoutSseScenario, fanoutWsScenario } from './scenarios/fanout.js';
import { graphqlScenario } from './scenarios/graphql.js';
import { groupsScenario } from './scenarios/groups.js';
import { grpcScenario } from './scenarios/grpc.js';
import { idleMemoryScenario } from './scenarios/idle-memory.js';
import { jobsScenario } from './scenarios/jobs.js';
import { latencyScenario } from './scenarios/latency.js';
import { longpollScenario } from './scenarios/longpoll.js';
import { longpollFanoutScenario } from './scenarios/longpoll-fanout.js';
import { longpollFloorScenario } from './scenarios/longpoll-floor.js';
import { mqttScenario } from './scenarios/mqtt.js';
import { publishScenario } from './scenarios/publish.js';
import { pushScenario } from './scenarios/push.js';
import { redisScenario } from './scenarios/redis.js';
import { redisClusterScenario } from './scenarios/redis-cluster.js';
import { redisReplicationScenario } from './scenarios/redis-replication.js';
import { requestsScenario } from './scenarios/requests.js';
import { schedulesScenario } from './scenarios/schedules.js';

const SCENARIOS: Scenario[] = [
  publishScenario,
  longpollScenario,
  longpollFloorScenario,
  longpollFanoutScenario,
  fanoutWsScenario,
  fanoutSseScenario,
  fanoutFloorScenario,
  latencyScenario,
  idleMemoryScenario,
  groupsScenario,
  jobsScenario,
  pushScenario,
  authCostScenario,
  grpcScenario,
  graphqlScenario,
  mqttScenario,
  redisScenario,
  redisReplicationScenario,
  redisClusterScenario,
  schedulesScenario,
  requestsScenario,
];

function usage(): string {
  return [
    'usage: npm run bench [-- <scenario>...]',
    '',
    'scenarios (in the order they run):',
    ...SCENARIOS.map((s) => `  ${s.name.padEnd(14)} ${s.description}`),
  ].join('\n');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--list') || args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const unknown = args.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}\n\n${usage()}\n`);
    return 2;
  }
  const selected = args.length ? SCENARIOS.filter((s) => args.includes(s.name)) : SCENARIOS;
  const startLoad = loadAverage();
  process.stdout.write(
    `Switchboard benchmarks: ${selected.map((s) => s.name).join(', ')}\n` +
      `load average before: ${startLoad.join(' ')}` +
      (startLoad[0]! > 0.5 ? '  — the machine is busy: expect noisy numbers\n' : '\n') +
      `servers under test run with ${Object.entries(BENCH_SERVER_ENV)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')} (all load comes from one address)\n`,
  );
  const earlier = new Map<string, ScenarioOutcome>();
  const context: ScenarioContext = {
    earlier,
    log: (message) => process.stderr.write(`  … ${message}\n`),
  };
  const started = performance.now();
  let failed = false;
  for (const scenario of selected) {
    const t0 = performance.now();
    process.stdout.write(`\n== ${scenario.name}: ${scenario.description}\n`);
    let outcome: ScenarioOutcome;
    try {
      outcome = await scenario.run(context);
    } catch (error) {
      failed = true;
      const message = (error as Error).stack ?? String(error);
      process.stdout.write(`${scenario.name} failed: ${message}\n`);
      outcome = { targets: [], notes: [`failed: ${(error as Error).message}`], json: { error: message } };
      await stopAllServers();
    }
    earlier.set(scenario.name, outcome);
    if (outcome.skipped) process.stdout.write(`${scenario.name}: ${outcome.skipped}\n`);
    const file = writeResult(scenario.name, {
      skipped: outcome.skipped,
      targets: outcome.targets,
      notes: outcome.notes,
      seconds: (performance.now() - t0) / 1000,
      ...outcome.json,
    });
    process.stdout.write(`(${((performance.now() - t0) / 1000).toFixed(0)} s; written to ${file})\n`);
  }

  process.stdout.write(`\n== summary (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  for (const scenario of selected) {
    const outcome = earlier.get(scenario.name)!;
    if (outcome.skipped && outcome.targets.length === 0) {
      process.stdout.write(`n/a   ${scenario.name}: ${outcome.skipped}\n`);
    }
    for (const line of outcome.headlines ?? []) process.stdout.write(`info  ${scenario.name}: ${line}\n`);
    for (const t of outcome.targets) {
      const measured = t.ok === undefined ? t.measured : `measured ${t.measured}`;
      process.stdout.write(`${verdict(t.ok)}  ${scenario.name}: ${t.target} — ${measured}\n`);
    }
    for (const note of outcome.notes) process.stdout.write(`note  ${scenario.name}: ${note}\n`);
  }
  const endLoad = loadAverage();
  process.stdout.write(
    `load average after: ${endLoad.join(' ')} (2 cores shared with the load generators` +
      ` and anything else running: compare runs with care)\n`,
  );
  return failed ? 1 : 0;
}

let interrupted = false;
const interrupt = (): void => {
  if (interrupted) process.exit(130);
  interrupted = true;
  stopAllServers().finally(() => process.exit(130));
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);
process.on('uncaughtException', (error) => {
  process.stderr.write(`uncaught: ${error.stack ?? error.message}\n`);
  stopAllServers().finally(() => process.exit(1));
});

main().then(
  async (code) => {
    await stopAllServers();
    process.exit(code);
  },
  async (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    await stopAllServers();
    process.exit(1);
  },
);
