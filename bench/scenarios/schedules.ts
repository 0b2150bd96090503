/**
 * `schedules` (issue 11): delayed-delivery accuracy — how late a due message is appended (the
 * message's `time`, the server's append clock, minus the `deliverAt` it was scheduled for), with
 * 10,000 schedules pending when the first falls due. Messages come due over 5 s (2,000/s, ten per
 * due time, so the loop also appends batches). SQLite (each append committed) and memory.
 * Target: p99 ≤ 100 ms ("within 100 ms on an idle server").
 */
import WebSocket from 'ws';
import { type Scenario, type ScenarioOutcome, sleep, waitUntil } from '../lib/scenario.js';
import { type EngineName, spawnSwitchboard } from '../lib/server.js';
import { type Summary, summarize } from '../lib/stats.js';
import { fmt, printTable } from '../lib/table.js';

const PENDING = 10_000;
const LEAD_MS = 12_000; // scheduling 10,000 over one WebSocket takes well under this, even on a busy machine
const SPREAD_MS = 5_000;
const TOPIC = 'schedules-bench';
const WINDOW = 256;

interface Row {
  engine: EngineName;
  lateness: Summary;
  scheduleSeconds: number;
  appended: number;
}

async function scheduleAll(wsUrl: string, dueFrom: number): Promise<void> {
  const ws = new WebSocket(`${wsUrl}/v1/ws`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let replies = 0;
  let failures = 0;
  let sent = 0;
  // A window of publishes in flight: a client that never reads its replies is a slow consumer (4001).
  const sendNext = (): void => {
    if (sent >= PENDING) return;
    const at = dueFrom + Math.floor((sent * SPREAD_MS) / PENDING);
    sent++;
    ws.send(JSON.stringify({ op: 'publish', id: sent, topic: TOPIC, data: { at }, deliverAt: at }));
  };
  const done = new Promise<void>((resolve, reject) => {
    ws.once('close', (code, reason) =>
      reject(new Error(`the WebSocket closed after ${replies} of ${PENDING} replies: ${code} ${reason}`)),
    );
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { op: string; ok?: boolean };
      if (frame.op !== 'reply') return;
      replies++;
      if (!frame.ok) failures++;
      if (replies === PENDING) resolve();
      else sendNext();
    });
  });
  for (let i = 0; i < WINDOW; i++) sendNext();
  await done;
  ws.close();
  if (failures > 0) throw new Error(`${failures} of ${PENDING} schedules were refused`);
}

async function readLateness(url: string): Promise<number[]> {
  const late: number[] = [];
  let after = 0;
  for (;;) {
    const page = (await (
      await fetch(`${url}/v1/topics/${TOPIC}/messages?after=${after}&limit=1000`)
    ).json()) as {
      messages: Array<{ time: number; data: { at: number } }>;
      next: number;
    };
    for (const message of page.messages) late.push(message.time - message.data.at);
    if (page.messages.length === 0) return late;
    after = page.next;
  }
}

async function runOnce(engine: EngineName): Promise<Row> {
  const server = await spawnSwitchboard(engine);
  try {
    const dueFrom = Date.now() + LEAD_MS;
    const t0 = performance.now();
    await scheduleAll(server.wsUrl, dueFrom);
    const scheduleSeconds = (performance.now() - t0) / 1000;
    await sleep(Math.max(0, dueFrom + SPREAD_MS - Date.now()));
    await waitUntil(async () => (await readLateness(server.url)).length >= PENDING, 30_000, 250);
    const late = await readLateness(server.url);
    return { engine, lateness: summarize(late), scheduleSeconds, appended: late.length };
  } finally {
    await server.stop();
  }
}

export const schedulesScenario: Scenario = {
  name: 'schedules',
  description: 'delayed delivery: due → appended lateness p50/p99 with 10,000 pending (SQLite, memory)',
  async run(context): Promise<ScenarioOutcome> {
    const rows: Row[] = [];
    for (const engine of ['sqlite', 'memory'] as const) {
      context.log(`${engine}: scheduling ${PENDING}`);
      rows.push(await runOnce(engine));
    }
    printTable({
      title: `delayed delivery, ${PENDING} pending, due over ${SPREAD_MS / 1000} s`,
      headers: ['engine', 'appended', 'late p50 ms', 'p90', 'p99', 'max', 'scheduling s'],
      rows: rows.map((r) => [
        r.engine,
        r.appended,
        fmt(r.lateness.p50),
        fmt(r.lateness.p90),
        fmt(r.lateness.p99),
        fmt(r.lateness.max),
        r.scheduleSeconds.toFixed(2),
      ]),
    });
    return {
      targets: rows.map((r) => ({
        target: `${r.engine}: scheduled message appended within 100 ms of due (p99)`,
        measured: `p50 ${fmt(r.lateness.p50)} ms, p99 ${fmt(r.lateness.p99)} ms`,
        ok: r.appended === PENDING && r.lateness.p99 <= 100,
      })),
      notes: rows
        .filter((r) => r.appended !== PENDING)
        .map((r) => `${r.engine}: ${r.appended} of ${PENDING} appended`),
      json: { rows },
    };
  },
};
