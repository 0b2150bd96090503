/**
 * `idle-memory` (issue 3): server RSS growth per idle subscribed connection, 5,000 WebSocket and
 * 5,000 SSE connections (fresh memory-engine server per transport, connections in 2 worker
 * processes). Target: ≤ 16 KiB per connection. Scales down, loudly, when the open-file limit is too
 * low for the server and the workers.
 */
import {
  createPool,
  messagesPath,
  post,
  probeSse,
  probeWs,
  publishBody,
  SKIPPED_ENDPOINT,
} from '../lib/http.js';
import { ephemeralPortCount, openFileLimit } from '../lib/proc.js';
import type { Transport } from '../lib/protocol.js';
import { type Scenario, type ScenarioOutcome, sleep } from '../lib/scenario.js';
import { type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { median } from '../lib/stats.js';
import { fmt, printTable } from '../lib/table.js';
import { SubscriberGroup } from '../lib/workers.js';

const WANTED = 5_000;
const TOPIC = 'idle-bench';
const FD_MARGIN = 256;

async function steadyRss(server: RunningServer): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(server.rssBytes());
    await sleep(200);
  }
  return median(samples);
}

interface Row {
  transport: Transport;
  skipped?: string;
  connections?: number;
  baselineMiB?: number;
  loadedMiB?: number;
  perConnectionKiB?: number;
  problems: string[];
}

async function measure(transport: 'ws' | 'sse', count: number, log: (m: string) => void): Promise<Row> {
  const row: Row = { transport, problems: [] };
  const server = await spawnSwitchboard('memory');
  const groups: SubscriberGroup[] = [];
  try {
    const availability = transport === 'ws' ? await probeWs(server.wsUrl) : await probeSse(server.url);
    if (!availability.available) {
      row.skipped = `${SKIPPED_ENDPOINT} (${availability.detail})`;
      return row;
    }
    const control = createPool(server.url, 1);
    await post(control, messagesPath(TOPIC), publishBody(100));
    await control.close();
    // Warm up: the first connections pay for code, JIT and buffers that later ones share.
    const warm = await SubscriberGroup.start({
      url: server.url,
      transport,
      topic: TOPIC,
      connections: 200,
      workers: 1,
      measure: 'count',
    });
    await warm.group.close();
    await sleep(1_500);
    const baseline = await steadyRss(server);
    log(
      `idle-memory: ${transport}: opening ${count} connections (baseline RSS ${fmt(baseline / 2 ** 20)} MiB)`,
    );
    const started = await SubscriberGroup.start({
      url: server.url,
      transport,
      topic: TOPIC,
      connections: count,
      workers: 2,
      measure: 'count',
      connectConcurrency: 200,
    });
    groups.push(started.group);
    if (started.opened.failed) {
      row.problems.push(
        `${started.opened.failed} connections failed: ${started.opened.errors.slice(0, 3).join('; ')}`,
      );
    }
    await sleep(3_000); // let the server settle (buffers, timers, a GC or two)
    const loaded = await steadyRss(server);
    const lost = started.group.lost.length;
    if (lost) row.problems.push(`${lost} connections were closed while idle`);
    const connections = started.opened.ok - lost;
    row.connections = connections;
    row.baselineMiB = baseline / 2 ** 20;
    row.loadedMiB = loaded / 2 ** 20;
    row.perConnectionKiB = (loaded - baseline) / connections / 1024;
  } finally {
    for (const group of groups) await group.close();
    if (server.crashed) row.problems.push(server.crashed);
    if (server.problems.length)
      row.problems.push(`server logged: ${server.problems.slice(0, 5).join(' | ')}`);
    await server.stop();
  }
  return row;
}

export const idleMemoryScenario: Scenario = {
  name: 'idle-memory',
  description: 'server RSS growth per idle connection, 5,000 WebSocket and 5,000 SSE subscribers',
  async run(context): Promise<ScenarioOutcome> {
    const notes: string[] = [];
    const limit = openFileLimit();
    let count = WANTED;
    // The server holds `count` sockets; each of the two workers holds count / 2.
    if (limit < WANTED + FD_MARGIN) {
      count = Math.max(100, Math.floor((limit - FD_MARGIN) / 100) * 100);
      const warning =
        `!!! ulimit -n is ${limit}: too low for ${WANTED} connections (needs ≥ ${WANTED + FD_MARGIN}); ` +
        `measuring ${count} instead. Raise it (ulimit -n 20000) for the real figure. !!!`;
      process.stdout.write(`\n${warning}\n`);
      notes.push(warning);
    }
    if (ephemeralPortCount() < count + 1_000) notes.push(`only ${ephemeralPortCount()} ephemeral ports`);
    const rows: Row[] = [];
    for (const transport of ['ws', 'sse'] as const) rows.push(await measure(transport, count, context.log));
    printTable({
      title: `idle-memory — server RSS growth per idle subscribed connection (memory engine, ${count} connections)`,
      headers: ['transport', 'connections', 'baseline RSS MiB', 'loaded RSS MiB', 'KiB / connection'],
      rows: rows.map((r) =>
        r.perConnectionKiB === undefined
          ? [r.transport, r.skipped ?? 'no result', '', '', '']
          : [
              r.transport,
              r.connections ?? 0,
              r.baselineMiB!.toFixed(1),
              r.loadedMiB!.toFixed(1),
              r.perConnectionKiB.toFixed(1),
            ],
      ),
      notes: [
        'Baseline after 200 warm-up connections were opened and closed; RSS = median of 5 samples; no forced GC.',
        `open-file limit: ${limit}`,
      ],
    });
    for (const row of rows) for (const problem of row.problems) notes.push(`${row.transport}: ${problem}`);
    const skipped = rows.every((r) => r.skipped) ? rows[0]!.skipped : undefined;
    return {
      ...(skipped ? { skipped } : {}),
      targets: rows.map((r) => ({
        target: `≤ 16 KiB server memory per idle ${r.transport === 'ws' ? 'WebSocket' : 'SSE'} connection`,
        measured:
          r.perConnectionKiB === undefined
            ? (r.skipped ?? 'no result')
            : `${r.perConnectionKiB.toFixed(1)} KiB`,
        ok: r.perConnectionKiB === undefined ? undefined : r.perConnectionKiB <= 16,
      })),
      notes,
      json: { rows, wanted: WANTED, measuredConnections: count, openFileLimit: limit },
    };
  },
};
