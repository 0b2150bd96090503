/**
 * Fan-out (issue 3): 1 publisher, 1,000 subscribers on one topic, 100-byte payloads, publisher at most
 * 64 messages ahead of the slowest subscriber; deliveries/s and server CPU-seconds per million
 * deliveries.
 *
 *   fanout-ws     Switchboard WebSocket, memory vs SQLite engine (interleaved windows)
 *   fanout-sse    Switchboard SSE, memory vs SQLite engine (interleaved windows)
 *   fanout-floor  the same load on the floor servers (bench/floor-*-server.ts), interleaved with
 *                 Switchboard (memory engine) in the same run; target Switchboard ≥ 70% of floor.
 *
 * Each rig does a 1 s warm-up, then 3 windows of 0.5 s ramp + 2 s measurement, alternating rigs;
 * the median window is reported.
 */
import { FanoutRig, type FanoutWindow, MAX_IN_FLIGHT, WINDOW } from '../lib/fanout.js';
import { probeSse, probeWs, SKIPPED_ENDPOINT } from '../lib/http.js';
import type { Transport } from '../lib/protocol.js';
import type { Scenario, ScenarioContext, ScenarioOutcome, TargetCheck } from '../lib/scenario.js';
import { type RunningServer, spawnBenchServer, spawnSwitchboard } from '../lib/server.js';
import { medianIndex } from '../lib/stats.js';
import { fmt, pct, printTable } from '../lib/table.js';

const SUBSCRIBERS = 1_000;
const WORKERS = 2;
const WINDOWS = 3;
const RAMP_MS = 500;
const MEASURE_MS = 2_000;

type PushTransport = Exclude<Transport, 'longpoll'>;
type FanoutTransport = Transport;

export interface Contender {
  label: string;
  start(): Promise<RunningServer>;
  /** Switchboard's endpoints may not exist yet: probe before connecting 1,000 subscribers. */
  probe: boolean;
  /** JWT for a server run with `--auth token` (publisher header, subscribers `?token=`). */
  token?: string;
}

export interface RigResult {
  label: string;
  transport: FanoutTransport;
  skipped?: string;
  windows: FanoutWindow[];
  median?: FanoutWindow;
  lost?: string;
  problems: string[];
}

async function isAvailable(
  server: RunningServer,
  transport: FanoutTransport,
  token: string | undefined,
): Promise<string | undefined> {
  if (transport === 'longpoll') return undefined; // the fetch route is the oldest door
  const availability =
    transport === 'ws' ? await probeWs(server.wsUrl, token) : await probeSse(server.url, token);
  return availability.available ? undefined : `${SKIPPED_ENDPOINT} (${availability.detail})`;
}

/** Starts every contender's rig, runs the windows round-robin, and stops everything. */
export async function compare(
  context: ScenarioContext,
  transport: FanoutTransport,
  contenders: Contender[],
  windows = WINDOWS,
): Promise<RigResult[]> {
  const results: RigResult[] = [];
  const rigs: Array<{ rig: FanoutRig; result: RigResult; server: RunningServer }> = [];
  const servers: RunningServer[] = [];
  try {
    for (const contender of contenders) {
      const result: RigResult = { label: contender.label, transport, windows: [], problems: [] };
      results.push(result);
      const server = await contender.start();
      servers.push(server);
      const missing = contender.probe ? await isAvailable(server, transport, contender.token) : undefined;
      if (missing) {
        result.skipped = missing;
        continue;
      }
      context.log(`${contender.label} ${transport}: connecting ${SUBSCRIBERS} subscribers`);
      const started = await FanoutRig.start({
        label: contender.label,
        server,
        transport,
        subscribers: SUBSCRIBERS,
        workers: WORKERS,
        topic: `fanout-${transport}`,
        ...(contender.token === undefined ? {} : { token: contender.token }),
      });
      if (started.unavailable !== undefined) {
        result.skipped = `${SKIPPED_ENDPOINT} (${started.unavailable})`;
        continue;
      }
      if (started.rig.connected < SUBSCRIBERS) {
        result.problems.push(
          `only ${started.rig.connected}/${SUBSCRIBERS} subscribers connected: ${started.rig.openErrors.join('; ')}`,
        );
      }
      rigs.push({ rig: started.rig, result, server });
    }
    for (const { rig } of rigs) await rig.window(1_000, 0); // warm-up
    for (let w = 0; w < windows; w++) {
      for (const { rig, result } of w % 2 === 0 ? rigs : [...rigs].reverse()) {
        const window = await rig.window(RAMP_MS, MEASURE_MS);
        result.windows.push(window);
        context.log(
          `${result.label} ${transport} window ${w + 1}: ${fmt(window.deliveriesPerSecond)} deliveries/s, ` +
            `${window.serverCpuPerMillion.toFixed(2)} CPU-s/M, server ${pct(window.serverCpuLoad)} of a core` +
            (window.stalled ? ' — STALLED' : ''),
        );
      }
    }
    for (const { rig, result, server } of rigs) {
      result.median = result.windows[medianIndex(result.windows, (w) => w.deliveriesPerSecond)];
      const lost = rig.lostSummary();
      if (lost) result.lost = lost;
      if (rig.publishFailures.length)
        result.problems.push(`publish failures: ${rig.publishFailures.join(' | ')}`);
      if (result.windows.some((w) => w.stalled))
        result.problems.push('deliveries stalled for 5 s during a window');
      if (rig.group.fatal.length) result.problems.push(...rig.group.fatal);
      if (server.crashed) result.problems.push(server.crashed);
      if (server.problems.length)
        result.problems.push(`server logged: ${server.problems.slice(0, 5).join(' | ')}`);
    }
  } finally {
    for (const { rig } of rigs) await rig.close();
    for (const server of servers) await server.stop();
  }
  return results;
}

export function rowsOf(results: RigResult[]): Array<Array<string | number>> {
  return results.map((r) => {
    if (!r.median) return [r.label, r.transport, r.skipped ?? 'no result', '', '', '', '', '', ''];
    const m = r.median;
    return [
      r.label,
      r.transport,
      m.deliveriesPerSecond,
      r.windows.map((w) => `${Math.round(w.deliveriesPerSecond / 1000)}k`).join(' / '),
      m.messagesPerSecond,
      m.serverCpuPerMillion.toFixed(2),
      pct(m.serverCpuLoad),
      pct(m.clientCpuLoad),
      r.lost ?? '0',
    ];
  });
}

export const HEADERS = [
  'server',
  'transport',
  'deliveries/s',
  'windows',
  'msgs/s',
  'server CPU s/1M deliveries',
  'server CPU',
  'client CPU',
  'lost conns',
];

export function problemNotes(results: RigResult[]): string[] {
  return results.flatMap((r) => [...r.problems.map((p) => `${r.label} ${r.transport}: ${p}`)]);
}

export const SETUP = `${SUBSCRIBERS} subscribers in ${WORKERS} worker processes, 1 HTTP publisher (≤ ${MAX_IN_FLIGHT} in flight, ≤ ${WINDOW} ahead of the slowest subscriber), 100-byte data, median of ${WINDOWS} × ${MEASURE_MS / 1000} s windows`;

function switchboard(engine: 'memory' | 'sqlite'): Contender {
  return { label: `switchboard ${engine}`, start: () => spawnSwitchboard(engine), probe: true };
}

function engineScenario(transport: PushTransport): Scenario {
  const name = `fanout-${transport}`;
  return {
    name,
    description: `${transport === 'ws' ? 'WebSocket' : 'SSE'} fan-out to 1,000 subscribers: deliveries/s, server CPU per delivery (memory vs SQLite)`,
    async run(context): Promise<ScenarioOutcome> {
      const results = await compare(context, transport, [switchboard('memory'), switchboard('sqlite')]);
      const skipped = results.every((r) => r.skipped) ? results[0]!.skipped : undefined;
      if (skipped) return { skipped, targets: [], notes: [], json: { results } };
      printTable({
        title: `${name} — ${SETUP}`,
        headers: HEADERS,
        rows: rowsOf(results),
        notes: [
          'server CPU s/1M deliveries = µs of server CPU per delivery; server/client CPU = share of one core during the window.',
          'PERF-NOTES peers: ws floor ~920k/s at 0.8; SSE floor ~190k/s at 4.2; Socket.IO ~95k/s at 11.1.',
        ],
      });
      return {
        targets: [],
        headlines: results.map((r) =>
          r.median
            ? `${r.label}: ${fmt(r.median.deliveriesPerSecond)} deliveries/s, ${r.median.serverCpuPerMillion.toFixed(2)} server CPU-s per million deliveries`
            : `${r.label}: ${r.skipped ?? 'no result'}`,
        ),
        notes: problemNotes(results),
        json: { results, subscribers: SUBSCRIBERS },
      };
    },
  };
}

export const fanoutWsScenario = engineScenario('ws');
export const fanoutSseScenario = engineScenario('sse');

export const fanoutFloorScenario: Scenario = {
  name: 'fanout-floor',
  description: 'the same fan-out on minimal ws / node:http SSE floor servers, A/B with Switchboard (memory)',
  async run(context): Promise<ScenarioOutcome> {
    const all: RigResult[] = [];
    const targets: TargetCheck[] = [];
    for (const transport of ['ws', 'sse'] as PushTransport[]) {
      const floor: Contender = {
        label: `floor ${transport}`,
        start: () =>
          spawnBenchServer(
            `floor ${transport}`,
            transport === 'ws' ? 'floor-ws-server.ts' : 'floor-sse-server.ts',
          ),
        probe: false,
      };
      const results = await compare(context, transport, [floor, switchboard('memory')]);
      all.push(...results);
      const [floorResult, ours] = results as [RigResult, RigResult];
      const ratio =
        ours.median && floorResult.median
          ? ours.median.deliveriesPerSecond / floorResult.median.deliveriesPerSecond
          : Number.NaN;
      targets.push({
        target: `Switchboard ${transport === 'ws' ? 'WebSocket' : 'SSE'} fan-out ≥ 70% of the floor's deliveries/s`,
        measured: ours.skipped
          ? ours.skipped
          : `${pct(ratio)} (${fmt(ours.median?.deliveriesPerSecond ?? Number.NaN)} vs ${fmt(floorResult.median?.deliveriesPerSecond ?? Number.NaN)}/s)`,
        ok: Number.isFinite(ratio) ? ratio >= 0.7 : undefined,
      });
    }
    const byTransport = (transport: FanoutTransport) => all.filter((r) => r.transport === transport);
    const percentOfFloor = (r: RigResult): string => {
      const floor = byTransport(r.transport).find((x) => x.label.startsWith('floor'))?.median;
      return r.median && floor ? pct(r.median.deliveriesPerSecond / floor.deliveriesPerSecond) : '-';
    };
    printTable({
      title: `fanout-floor — ${SETUP}; floor and Switchboard windows interleaved`,
      headers: [...HEADERS, '% of floor'],
      rows: rowsOf(all).map((row, i) => [...row, percentOfFloor(all[i]!)]),
      notes: [
        'floor ws: one frame per message (WebSocket.Sender.frame), one buffer written to every socket, corked per loop turn.',
        'floor sse: one pre-built HTTP chunk per message written to every socket, corked per loop turn.',
      ],
    });
    return { targets, notes: problemNotes(all), json: { results: all } };
  },
};
