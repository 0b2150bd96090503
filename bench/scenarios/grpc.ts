/**
 * `grpc` (issue 12): the gRPC door next to the doors it stands beside, in the same run.
 *
 *   1. Fan-out: 1 HTTP publisher → 1,000 gRPC Subscribe streams (@grpc/grpc-js clients, one HTTP/2
 *      connection each) vs 1,000 WebSocket subscribers, each rig on its own server (memory engine),
 *      windows interleaved (lib/fanout.ts rig, same publisher pacing). Target: gRPC ≥ 0.7× WebSocket
 *      deliveries/s.
 *   2. Unary Publish throughput, 64 concurrent calls on one gRPC channel, vs HTTP publish with 64
 *      concurrent requests (undici pool), both against one server (memory), runs interleaved.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { FanoutRig, type FanoutWindow } from '../lib/fanout.js';
import { createPool, publishBody } from '../lib/http.js';
import type { Transport } from '../lib/protocol.js';
import type { Scenario, ScenarioContext, ScenarioOutcome } from '../lib/scenario.js';
import { type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { median, medianIndex } from '../lib/stats.js';
import { fmt, pct, printTable } from '../lib/table.js';
import { closedLoop } from './publish.js';

const SUBSCRIBERS = 1_000;
const WORKERS = 2;
const WINDOWS = 3;
const RAMP_MS = 500;
const MEASURE_MS = 2_000;
const CONCURRENCY = 64;
const PUBLISH_RUNS = 3;
const PUBLISH_MS = 1_500;

const PROTO = fileURLToPath(new URL('../../proto/switchboard/v1/switchboard.proto', import.meta.url));

interface FanoutResult {
  transport: Transport;
  windows: FanoutWindow[];
  median?: FanoutWindow;
  problems: string[];
}

async function fanout(context: ScenarioContext): Promise<FanoutResult[]> {
  const results: FanoutResult[] = [];
  const rigs: Array<{ rig: FanoutRig; result: FanoutResult }> = [];
  const servers: RunningServer[] = [];
  try {
    for (const transport of ['ws', 'grpc'] as Transport[]) {
      const result: FanoutResult = { transport, windows: [], problems: [] };
      results.push(result);
      const server = await spawnSwitchboard('memory');
      servers.push(server);
      context.log(`${transport}: connecting ${SUBSCRIBERS} subscribers`);
      const started = await FanoutRig.start({
        label: `switchboard ${transport}`,
        server,
        transport,
        subscribers: SUBSCRIBERS,
        workers: WORKERS,
        topic: `fanout-${transport}`,
      });
      if (!started.rig) {
        result.problems.push(`could not connect: ${started.unavailable}`);
        continue;
      }
      if (started.rig.connected < SUBSCRIBERS) {
        result.problems.push(
          `only ${started.rig.connected}/${SUBSCRIBERS} connected: ${started.rig.openErrors.join('; ')}`,
        );
      }
      rigs.push({ rig: started.rig, result });
    }
    for (const { rig } of rigs) await rig.window(1_000, 0); // warm-up
    for (let w = 0; w < WINDOWS; w++) {
      for (const { rig, result } of w % 2 === 0 ? rigs : [...rigs].reverse()) {
        const window = await rig.window(RAMP_MS, MEASURE_MS);
        result.windows.push(window);
        context.log(
          `${result.transport} window ${w + 1}: ${fmt(window.deliveriesPerSecond)} deliveries/s, ` +
            `${window.serverCpuPerMillion.toFixed(2)} CPU-s/M, server ${pct(window.serverCpuLoad)}, clients ${pct(window.clientCpuLoad)}`,
        );
      }
    }
    for (const { rig, result } of rigs) {
      result.median = result.windows[medianIndex(result.windows, (w) => w.deliveriesPerSecond)];
      const lost = rig.lostSummary();
      if (lost) result.problems.push(lost);
      if (result.windows.some((w) => w.stalled)) result.problems.push('deliveries stalled during a window');
    }
  } finally {
    for (const { rig } of rigs) await rig.close();
    for (const server of servers) await server.stop();
  }
  return results;
}

/** `concurrency` callers on one channel, each calling Publish again as soon as it is answered. */
async function grpcClosedLoop(client: grpc.Client, server: RunningServer, topic: string) {
  const data = JSON.parse(publishBody(100)).data;
  const request = { topic, data: JSON.stringify(data) };
  // biome-ignore lint/suspicious/noExplicitAny: generated method
  const publish = (client as any).Publish.bind(client);
  let done = 0;
  let errors = 0;
  const cpu0 = server.cpuSeconds();
  const start = performance.now();
  const end = start + PUBLISH_MS;
  const caller = async (): Promise<void> => {
    while (performance.now() < end) {
      await new Promise<void>((resolve) =>
        publish(request, (error: Error | null) => {
          if (error) errors++;
          else done++;
          resolve();
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  const seconds = (performance.now() - start) / 1000;
  return {
    publishesPerSecond: done / seconds,
    cpuUs: done ? ((server.cpuSeconds() - cpu0) / done) * 1e6 : Number.NaN,
    errors,
  };
}

async function publishThroughput(context: ScenarioContext) {
  const server = await spawnSwitchboard('memory');
  const pool = createPool(server.url, CONCURRENCY);
  const definition = loadSync(PROTO, { keepCase: true, longs: Number, defaults: true, oneofs: true });
  // biome-ignore lint/suspicious/noExplicitAny: generated client
  const Switchboard = (grpc.loadPackageDefinition(definition) as any).switchboard.v1.Switchboard;
  const client: grpc.Client = new Switchboard(new URL(server.url).host, grpc.credentials.createInsecure());
  const http: number[] = [];
  const rpc: number[] = [];
  const cpu = { http: [] as number[], grpc: [] as number[] };
  let grpcErrors = 0;
  try {
    await closedLoop(pool, server, CONCURRENCY, 500, 'publish-http'); // warm-up
    await grpcClosedLoop(client, server, 'publish-grpc');
    for (let run = 0; run < PUBLISH_RUNS; run++) {
      const h = await closedLoop(pool, server, CONCURRENCY, PUBLISH_MS, 'publish-http');
      const g = await grpcClosedLoop(client, server, 'publish-grpc');
      http.push(h.publishesPerSecond);
      rpc.push(g.publishesPerSecond);
      cpu.http.push(h.serverCpuUsPerPublish);
      cpu.grpc.push(g.cpuUs);
      grpcErrors += g.errors;
      context.log(
        `publish run ${run + 1}: HTTP ${fmt(h.publishesPerSecond)}/s, gRPC ${fmt(g.publishesPerSecond)}/s`,
      );
    }
  } finally {
    client.close();
    await pool.close();
    await server.stop();
  }
  return {
    http: median(http),
    grpc: median(rpc),
    httpCpuUs: median(cpu.http),
    grpcCpuUs: median(cpu.grpc),
    grpcErrors,
  };
}

export const grpcScenario: Scenario = {
  name: 'grpc',
  description:
    'gRPC Subscribe fan-out to 1,000 streams vs WebSocket (interleaved), unary Publish ×64 vs HTTP publish ×64',
  async run(context): Promise<ScenarioOutcome> {
    const fan = await fanout(context);
    const publish = await publishThroughput(context);
    const [ws, rpc] = fan as [FanoutResult, FanoutResult];
    const ratio =
      ws.median && rpc.median ? rpc.median.deliveriesPerSecond / ws.median.deliveriesPerSecond : Number.NaN;
    printTable({
      title: `grpc fan-out — ${SUBSCRIBERS} subscribers in ${WORKERS} worker processes, 100-byte data, median of ${WINDOWS} × ${MEASURE_MS / 1000} s windows, rigs interleaved`,
      headers: [
        'transport',
        'deliveries/s',
        'windows',
        'server CPU s/1M',
        'server CPU',
        'client CPU',
        'problems',
      ],
      rows: fan.map((r) => [
        r.transport,
        r.median?.deliveriesPerSecond ?? '-',
        r.windows.map((w) => `${Math.round(w.deliveriesPerSecond / 1000)}k`).join(' / '),
        r.median?.serverCpuPerMillion.toFixed(2) ?? '-',
        r.median ? pct(r.median.serverCpuLoad) : '-',
        r.median ? pct(r.median.clientCpuLoad) : '-',
        r.problems.join('; ') || '-',
      ]),
      notes: [
        'gRPC subscribers are @grpc/grpc-js clients (events counted undecoded); WebSocket subscribers are raw-socket clients.',
      ],
    });
    printTable({
      title: `grpc publish — ${CONCURRENCY} concurrent callers, memory engine, median of ${PUBLISH_RUNS} × ${PUBLISH_MS / 1000} s, interleaved`,
      headers: ['door', 'publishes/s', 'server CPU µs/publish'],
      rows: [
        ['HTTP POST (undici pool, 64 connections)', publish.http, publish.httpCpuUs.toFixed(1)],
        ['gRPC Publish (one channel, 64 streams)', publish.grpc, publish.grpcCpuUs.toFixed(1)],
      ],
    });
    return {
      targets: [
        {
          target: 'gRPC Subscribe fan-out ≥ 70% of WebSocket deliveries/s',
          measured: Number.isFinite(ratio)
            ? `${pct(ratio)} (${fmt(rpc.median!.deliveriesPerSecond)} vs ${fmt(ws.median!.deliveriesPerSecond)}/s)`
            : 'not measured',
          ok: Number.isFinite(ratio) ? ratio >= 0.7 : undefined,
        },
      ],
      headlines: [
        `gRPC Publish ×64: ${fmt(publish.grpc)}/s vs HTTP ${fmt(publish.http)}/s (${pct(publish.grpc / publish.http)})`,
      ],
      notes: [
        ...fan.flatMap((r) => r.problems.map((p) => `${r.transport}: ${p}`)),
        ...(publish.grpcErrors ? [`gRPC publish errors: ${publish.grpcErrors}`] : []),
      ],
      json: { fanout: fan, publish },
    };
  },
};
