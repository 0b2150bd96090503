/**
 * `longpoll` (issue 2): wake-up latency with 1,000 held long polls (`wait=30`) on one topic. Once the
 * server reports all of them held, one message is published and every held request's answer time is
 * measured from just before the publish was sent. One warm-up round, then 5 measured rounds, for
 * both engines. Target: p99 < 20 ms.
 *
 * The 1,000 requests use an undici Pool with 1,000 connections and the low-level dispatch API; the
 * answer time is taken when the response head is parsed, and this process's CPU use during the
 * wake-up burst is reported so a client-side bottleneck would show.
 */
import type { Pool } from 'undici';
import { createPool, messagesPath, post, publishBody, stampedBody } from '../lib/http.js';
import { monoUs } from '../lib/proc.js';
import { type Scenario, type ScenarioOutcome, sleep, waitUntil } from '../lib/scenario.js';
import { type EngineName, type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { median, summarize } from '../lib/stats.js';
import { ms, printTable } from '../lib/table.js';

export const HELD = 1_000;
export const ROUNDS = 5;
const TOPIC = 'longpoll-bench';

interface Held {
  status: number;
  /** monotonic µs when the response head arrived */
  answeredUs: number;
  body: string;
  error?: string;
}

function hold(pool: Pool, after: number): Promise<Held> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let answeredUs = 0;
    pool.dispatch(
      { path: `${messagesPath(TOPIC)}?after=${after}&wait=30`, method: 'GET' },
      {
        onRequestStart() {}, // marks this as a new-style (undici 7) handler
        onResponseStart(_controller, statusCode) {
          answeredUs = monoUs();
          status = statusCode;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          resolve({ status, answeredUs, body: Buffer.concat(chunks).toString() });
        },
        onResponseError(_controller, error) {
          resolve({ status, answeredUs, body: '', error: error.message });
        },
      },
    );
  });
}

async function heldCount(url: string): Promise<number> {
  const response = await fetch(`${url}/v1/topics/${TOPIC}`);
  const stats = (await response.json()) as { subscribers?: Record<string, number> };
  return stats.subscribers?.longpoll ?? Object.values(stats.subscribers ?? {}).reduce((a, b) => a + b, 0);
}

export interface Round {
  latencyUs: number[];
  publishAckUs: number;
  /** fraction of the burst this process spent on CPU (1.0 = the client was the bottleneck) */
  clientBusy: number;
  errors: string[];
  heldReported: number;
}

/**
 * One server under the long-poll load: a control pool (publishes) and a 1,000-connection pool for the
 * held requests, kept across rounds. `round()` holds 1,000 requests, waits until the server reports
 * them all held, lets it go idle for 200 ms, publishes once and times every answer from just before
 * the publish was sent. longpoll-floor runs several of these with their rounds interleaved.
 */
export class LongpollTarget {
  readonly label: string;
  readonly server: RunningServer;
  readonly rounds: Round[] = [];
  readonly notes: string[] = [];
  readonly #control: Pool;
  readonly #holders: Pool;
  #cursor = 0;

  constructor(label: string, server: RunningServer) {
    this.label = label;
    this.server = server;
    this.#control = createPool(server.url, 2);
    this.#holders = createPool(server.url, HELD);
  }

  /** Creates the topic (the first publish) so the held requests attach to an existing log. */
  async init(): Promise<void> {
    const created = await post(this.#control, messagesPath(TOPIC), publishBody(100));
    if (created.status !== 201) throw new Error(`publish answered ${created.status}: ${created.text}`);
    this.#cursor = (JSON.parse(created.text) as { offset: number }).offset;
  }

  /** One round; round 0 is the warm-up and is logged but not kept. */
  async round(round: number, log: (message: string) => void): Promise<void> {
    const { server } = this;
    const pending = Array.from({ length: HELD }, () => hold(this.#holders, this.#cursor));
    let reported = 0;
    const allHeld = await waitUntil(
      async () => {
        reported = await heldCount(server.url).catch(() => 0);
        return reported >= HELD;
      },
      20_000,
      50,
    );
    if (!allHeld)
      this.notes.push(`${this.label} round ${round}: server reported only ${reported} held requests`);
    await sleep(200); // let the server go idle before the publish
    const cpu0 = process.cpuUsage();
    const t0 = monoUs();
    const published = await post(this.#control, messagesPath(TOPIC), stampedBody(100));
    const publishAckUs = monoUs() - t0;
    const answers = await Promise.all(pending);
    const burstUs = Math.max(...answers.map((a) => a.answeredUs)) - t0;
    const cpu = process.cpuUsage(cpu0);
    const errors: string[] = [];
    if (published.status !== 201) errors.push(`publish: HTTP ${published.status} ${published.text}`);
    const offset = (JSON.parse(published.text) as { offset?: number }).offset ?? this.#cursor + 1;
    for (const answer of answers) {
      if (answer.error) errors.push(answer.error);
      else if (answer.status !== 200) errors.push(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
      else if (!answer.body.includes(`"offset":${offset}`)) errors.push(`answer without offset ${offset}`);
    }
    this.#cursor = offset;
    const latencyUs = answers.map((a) => a.answeredUs - t0);
    const summary = summarize(latencyUs);
    log(
      `longpoll: ${this.label} round ${round}${round === 0 ? ' (warm-up)' : ''}: p50 ${ms(summary.p50)} ms, p99 ${ms(summary.p99)} ms, max ${ms(summary.max)} ms`,
    );
    if (round === 0) return;
    this.rounds.push({
      latencyUs,
      publishAckUs,
      clientBusy: (cpu.user + cpu.system) / burstUs,
      errors,
      heldReported: reported,
    });
  }

  /** Closes the pools and stops the server; a crash or logged problems go to `notes`. */
  async close(): Promise<void> {
    await this.#holders.destroy().catch(() => undefined);
    await this.#control.close();
    if (this.server.crashed) this.notes.push(this.server.crashed);
    if (this.server.problems.length)
      this.notes.push(`${this.server.label} logged: ${this.server.problems.slice(0, 5).join(' | ')}`);
    await this.server.stop();
  }
}

export interface LongpollRow {
  label: string;
  held: number;
  rounds: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  roundP99Ms: number[];
  publishAckMs: number;
  clientBusy: number;
  errors: number;
}

/** Summarizes a target's kept rounds (all answers of all rounds pooled); bad answers go to `notes`. */
export function longpollRow(target: LongpollTarget, notes: string[]): LongpollRow {
  const { rounds } = target;
  const all = summarize(rounds.flatMap((r) => r.latencyUs));
  const errors = rounds.flatMap((r) => r.errors);
  if (errors.length)
    notes.push(`${target.label}: ${errors.length} bad answers, e.g. ${errors.slice(0, 3).join(' | ')}`);
  return {
    label: target.label,
    held: HELD,
    rounds: rounds.length,
    p50Ms: all.p50 / 1000,
    p99Ms: all.p99 / 1000,
    maxMs: all.max / 1000,
    roundP99Ms: rounds.map((r) => summarize(r.latencyUs).p99 / 1000),
    publishAckMs: median(rounds.map((r) => r.publishAckUs)) / 1000,
    clientBusy: median(rounds.map((r) => r.clientBusy)),
    errors: errors.length,
  };
}

export const LONGPOLL_HEADERS = [
  'server',
  'held',
  'p50 ms',
  'p99 ms',
  'max ms',
  'p99 per round (ms)',
  'publish ack ms',
  'client CPU busy',
  'errors',
];

export function longpollCells(r: LongpollRow): Array<string | number> {
  return [
    r.label,
    r.held,
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.maxMs.toFixed(2),
    r.roundP99Ms.map((v) => v.toFixed(1)).join(' / '),
    r.publishAckMs.toFixed(2),
    `${(r.clientBusy * 100).toFixed(0)}%`,
    r.errors,
  ];
}

export const LONGPOLL_NOTES = [
  'Latency = publish sent → each held request answered (response head parsed by the client).',
  "client CPU busy = this process's CPU time / burst duration: well under 100% means the client kept up.",
];

export const longpollScenario: Scenario = {
  name: 'longpoll',
  description: 'long-poll wake-up latency, 1,000 held requests on one topic (both engines)',
  async run(context): Promise<ScenarioOutcome> {
    const rows: Array<LongpollRow & { engine: EngineName }> = [];
    const notes: string[] = [];
    for (const engine of ['sqlite', 'memory'] as EngineName[]) {
      const target = new LongpollTarget(engine, await spawnSwitchboard(engine));
      try {
        await target.init();
        for (let round = 0; round <= ROUNDS; round++) await target.round(round, context.log);
      } finally {
        await target.close();
        notes.push(...target.notes);
      }
      rows.push({ engine, ...longpollRow(target, notes) });
    }
    printTable({
      title: `longpoll — wake-up latency, ${HELD} held requests (wait=30) on one topic, ${ROUNDS} rounds after a warm-up`,
      headers: ['engine', ...LONGPOLL_HEADERS.slice(1)],
      rows: rows.map(longpollCells),
      notes: LONGPOLL_NOTES,
    });
    return {
      targets: rows.map((r) => ({
        target: `long-poll wake-up p99 < 20 ms with ${HELD} held (${r.engine})`,
        measured: `${r.p99Ms.toFixed(2)} ms`,
        ok: r.p99Ms < 20,
      })),
      notes: [...new Set(notes)],
      json: { rows },
    };
  },
};
