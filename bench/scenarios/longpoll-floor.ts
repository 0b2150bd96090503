/**
 * `longpoll-floor` (issue 2): how far Switchboard's long-poll wake-up is from what Node itself does
 * on this machine. The floor (bench/floor-longpoll-server.ts: node:http, held requests in an array,
 * one pre-built body answers them all, corked per loop turn) and Switchboard on the memory and SQLite
 * engines all run at once and take turns round by round (the order rotates every round), each with
 * the `longpoll` scenario's exact method: 1,000 held `wait=30` requests, one publish, every answer
 * timed from just before the publish was sent; one warm-up round, then 5 measured rounds.
 *
 * The floor runs twice, corked per loop turn and with `--no-cork` (each answer written at once, so the
 * client starts parsing while the server still answers): on 2 shared cores either can win. The one
 * with the lower p99 is "the floor", and Switchboard's p50/p99 are printed as multiples of it.
 */
import type { Scenario, ScenarioOutcome } from '../lib/scenario.js';
import { spawnBenchServer, spawnSwitchboard } from '../lib/server.js';
import { printTable } from '../lib/table.js';
import {
  HELD,
  LONGPOLL_HEADERS,
  LONGPOLL_NOTES,
  type LongpollRow,
  LongpollTarget,
  longpollCells,
  longpollRow,
  ROUNDS,
} from './longpoll.js';

function times(value: number, floor: number): string {
  return Number.isFinite(value) && floor > 0 ? `${(value / floor).toFixed(1)}x` : '-';
}

export const longpollFloorScenario: Scenario = {
  name: 'longpoll-floor',
  description:
    'long-poll wake-up of a minimal node:http floor vs Switchboard memory/SQLite, rounds interleaved',
  async run(context): Promise<ScenarioOutcome> {
    const notes: string[] = [];
    const targets: LongpollTarget[] = [];
    let rows: LongpollRow[] = [];
    try {
      targets.push(
        new LongpollTarget(
          'floor corked',
          await spawnBenchServer('floor longpoll', 'floor-longpoll-server.ts'),
        ),
      );
      targets.push(
        new LongpollTarget(
          'floor uncorked',
          await spawnBenchServer('floor longpoll (no cork)', 'floor-longpoll-server.ts', ['--no-cork']),
        ),
      );
      targets.push(new LongpollTarget('switchboard memory', await spawnSwitchboard('memory')));
      targets.push(new LongpollTarget('switchboard sqlite', await spawnSwitchboard('sqlite')));
      for (const target of targets) await target.init();
      for (let round = 0; round <= ROUNDS; round++) {
        const shift = round % targets.length;
        for (const target of [...targets.slice(shift), ...targets.slice(0, shift)]) {
          await target.round(round, context.log);
        }
      }
      rows = targets.map((target) => longpollRow(target, notes));
    } finally {
      for (const target of targets) {
        await target.close();
        notes.push(...target.notes);
      }
    }

    const floors = rows.filter((r) => r.label.startsWith('floor'));
    const floor = floors.reduce((best, r) => (r.p99Ms < best.p99Ms ? r : best));
    printTable({
      title: `longpoll-floor — wake-up latency, ${HELD} held requests (wait=30), floor vs Switchboard, ${ROUNDS} interleaved rounds after a warm-up`,
      headers: [...LONGPOLL_HEADERS, 'p50 × floor', 'p99 × floor'],
      rows: rows.map((r) => [...longpollCells(r), times(r.p50Ms, floor.p50Ms), times(r.p99Ms, floor.p99Ms)]),
      notes: [
        ...LONGPOLL_NOTES,
        'floor: node:http, held requests in an array, one pre-built JSON body written to all of them; corked = sockets corked',
        `until the end of the loop turn, uncorked = each answer written at once. "× floor" is against ${floor.label} (the lower p99).`,
        'The issue-2 target is p99 < 20 ms; the floor is the part of it this machine and Node spend anyway.',
      ],
    });
    const ours = rows.filter((r) => !floors.includes(r));
    return {
      targets: ours.map((r) => ({
        target: `long-poll wake-up p99 < 20 ms with ${HELD} held (${r.label})`,
        measured: `${r.p99Ms.toFixed(2)} ms = ${times(r.p99Ms, floor.p99Ms)} the floor's ${floor.p99Ms.toFixed(2)} ms (${floor.label})`,
        ok: Number.isFinite(r.p99Ms) ? r.p99Ms < 20 : undefined,
      })),
      headlines: [
        ...floors.map((f) => `${f.label}: p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms`),
        ...ours.map(
          (r) =>
            `${r.label}: p99 ${r.p99Ms.toFixed(2)} ms = ${times(r.p99Ms, floor.p99Ms)} floor (p50 ${times(r.p50Ms, floor.p50Ms)})`,
        ),
      ],
      notes: [...new Set(notes)],
      json: { rows, floor: floor.label, held: HELD, rounds: ROUNDS },
    };
  },
};
