/**
 * `longpoll-fanout` (issue 16): long polling as a stream, side by side with its node:http floor
 * (bench/floor-longpoll-server.ts) in one run.
 *
 *   throughput  1,000 long-poll subscribers re-asking at once (`wait=30&limit=1000` from `next`),
 *               the fan-out publisher (≤ 64 ahead of the slowest), 100-byte data: deliveries/s and
 *               server CPU per delivery, floor and Switchboard (memory) windows interleaved.
 *   latency     100 long-poll subscribers at 200 msg/s: publish → receive p50/p99, floor and
 *               Switchboard alternating, twice each.
 *
 * Targets: ≥ 0.8× the floor's deliveries/s, ≤ 1.5× its server CPU per delivery, p99 ≤ 1.5× the
 * floor's at 100 subscribers.
 */
import type { Scenario, ScenarioOutcome, TargetCheck } from '../lib/scenario.js';
import { spawnBenchServer, spawnSwitchboard } from '../lib/server.js';
import { fmt, ms, printTable } from '../lib/table.js';
import { compare, HEADERS, problemNotes, rowsOf, SETUP } from './fanout.js';
import { RATE, runCase } from './latency.js';

const LATENCY_SUBSCRIBERS = 100;
const LATENCY_REPEATS = 2;

function ratio(value: number | undefined, floor: number | undefined): number {
  return value !== undefined && floor !== undefined && floor > 0 ? value / floor : Number.NaN;
}

export const longpollFanoutScenario: Scenario = {
  name: 'longpoll-fanout',
  description:
    'long polling vs its node:http floor: deliveries/s and CPU per delivery (1,000 re-asking), p99 at 100 × 200 msg/s',
  async run(context): Promise<ScenarioOutcome> {
    const results = await compare(
      context,
      'longpoll',
      [
        {
          label: 'floor longpoll',
          start: () => spawnBenchServer('floor longpoll', 'floor-longpoll-server.ts'),
          probe: false,
        },
        { label: 'switchboard memory', start: () => spawnSwitchboard('memory'), probe: false },
      ],
      5,
    );
    const [floor, ours] = results as [(typeof results)[0], (typeof results)[0]];
    printTable({
      title: `longpoll-fanout — ${SETUP.replace('median of 3', 'median of 5')}; floor and Switchboard interleaved`,
      headers: HEADERS,
      rows: rowsOf(results),
      notes: [
        'Each long-poll subscriber re-asks from `next` with wait=30&limit=1000 as soon as an answer arrives.',
      ],
    });

    const latency: Array<{ label: string; p50Us: number; p99Us: number; problems: string[] }> = [];
    for (let i = 0; i < LATENCY_REPEATS; i++) {
      for (const engine of i % 2 === 0 ? (['floor', 'memory'] as const) : (['memory', 'floor'] as const)) {
        const result = await runCase(
          { transport: 'longpoll', engine, subscribers: LATENCY_SUBSCRIBERS },
          context.log,
        );
        const label = engine === 'floor' ? 'floor longpoll' : 'switchboard memory';
        latency.push({
          label,
          p50Us: result.latencyUs?.p50 ?? Number.NaN,
          p99Us: result.latencyUs?.p99 ?? Number.NaN,
          problems: result.problems,
        });
        context.log(
          `${label}: p50 ${ms(result.latencyUs?.p50 ?? Number.NaN)} ms, p99 ${ms(result.latencyUs?.p99 ?? Number.NaN)} ms`,
        );
      }
    }
    const worst = (label: string) =>
      Math.max(...latency.filter((l) => l.label === label).map((l) => l.p99Us));
    const best = (label: string) => Math.min(...latency.filter((l) => l.label === label).map((l) => l.p99Us));
    printTable({
      title: `longpoll-fanout — publish → receive, ${RATE} msg/s to ${LATENCY_SUBSCRIBERS} long-poll subscribers, alternating`,
      headers: ['server', 'p50 ms', 'p99 ms'],
      rows: latency.map((l) => [l.label, ms(l.p50Us), ms(l.p99Us)]),
    });

    const dps = ratio(ours.median?.deliveriesPerSecond, floor.median?.deliveriesPerSecond);
    const cpu = ratio(ours.median?.serverCpuPerMillion, floor.median?.serverCpuPerMillion);
    // Median p99 of each side's repeats.
    const p99 = ratio(
      (worst('switchboard memory') + best('switchboard memory')) / 2,
      (worst('floor longpoll') + best('floor longpoll')) / 2,
    );
    const targets: TargetCheck[] = [
      {
        target: "long-poll deliveries/s ≥ 0.8× the floor's (1,000 subscribers)",
        measured: `${dps.toFixed(2)}× (${fmt(ours.median?.deliveriesPerSecond ?? Number.NaN)} vs ${fmt(floor.median?.deliveriesPerSecond ?? Number.NaN)}/s)`,
        ok: Number.isFinite(dps) ? dps >= 0.8 : undefined,
      },
      {
        target: "long-poll server CPU per delivery ≤ 1.5× the floor's",
        measured: `${cpu.toFixed(2)}× (${ours.median?.serverCpuPerMillion.toFixed(2)} vs ${floor.median?.serverCpuPerMillion.toFixed(2)} CPU-s/M)`,
        ok: Number.isFinite(cpu) ? cpu <= 1.5 : undefined,
      },
      {
        target: `long-poll p99 ≤ 1.5× the floor's at ${LATENCY_SUBSCRIBERS} subscribers × ${RATE} msg/s`,
        measured: `${p99.toFixed(2)}×`,
        ok: Number.isFinite(p99) ? p99 <= 1.5 : undefined,
      },
    ];
    return {
      targets,
      notes: [
        ...problemNotes(results),
        ...latency.flatMap((l) => l.problems.map((p) => `${l.label} latency: ${p}`)),
      ],
      json: { results, latency },
    };
  },
};
