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
import { type EngineName, spawnSwitchboard } from '../lib/server.js';
import { median, summarize } from '../lib/stats.js';
import { ms, printTable } from '../lib/table.js';

const HELD = 1_000;
const ROUNDS = 5;
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

interface Round {
  latencyUs: number[];
  publishAckUs: number;
  /** fraction of the burst this process spent on CPU (1.0 = the client was the bottleneck) */
  clientBusy: number;
  errors: string[];
  heldReported: number;
}

export const longpollScenario: Scenario = {
  name: 'longpoll',
  description: 'long-poll wake-up latency, 1,000 held requests on one topic (both engines)',
  async run(context): Promise<ScenarioOutcome> {
    const results: Array<{ engine: EngineName; rounds: Round[] }> = [];
    const notes: string[] = [];
    for (const engine of ['sqlite', 'memory'] as EngineName[]) {
      const server = await spawnSwitchboard(engine);
      const control = createPool(server.url, 2);
      const holders = createPool(server.url, HELD);
      const rounds: Round[] = [];
      try {
        const created = await post(control, messagesPath(TOPIC), publishBody(100));
        if (created.status !== 201) throw new Error(`publish answered ${created.status}: ${created.text}`);
        let cursor = (JSON.parse(created.text) as { offset: number }).offset;
        for (let round = 0; round <= ROUNDS; round++) {
          const pending = Array.from({ length: HELD }, () => hold(holders, cursor));
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
            notes.push(`${engine} round ${round}: server reported only ${reported} held requests`);
          await sleep(200); // let the server go idle before the publish
          const cpu0 = process.cpuUsage();
          const t0 = monoUs();
          const published = await post(control, messagesPath(TOPIC), stampedBody(100));
          const publishAckUs = monoUs() - t0;
          const answers = await Promise.all(pending);
          const burstUs = Math.max(...answers.map((a) => a.answeredUs)) - t0;
          const cpu = process.cpuUsage(cpu0);
          const errors: string[] = [];
          if (published.status !== 201) errors.push(`publish: HTTP ${published.status} ${published.text}`);
          const offset = (JSON.parse(published.text) as { offset?: number }).offset ?? cursor + 1;
          for (const answer of answers) {
            if (answer.error) errors.push(answer.error);
            else if (answer.status !== 200)
              errors.push(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
            else if (!answer.body.includes(`"offset":${offset}`))
              errors.push(`answer without offset ${offset}`);
          }
          cursor = offset;
          const latencyUs = answers.map((a) => a.answeredUs - t0);
          const summary = summarize(latencyUs);
          context.log(
            `longpoll: ${engine} round ${round}${round === 0 ? ' (warm-up)' : ''}: p50 ${ms(summary.p50)} ms, p99 ${ms(summary.p99)} ms, max ${ms(summary.max)} ms`,
          );
          if (round === 0) continue;
          rounds.push({
            latencyUs,
            publishAckUs,
            clientBusy: (cpu.user + cpu.system) / burstUs,
            errors,
            heldReported: reported,
          });
        }
      } finally {
        await holders.destroy().catch(() => undefined);
        await control.close();
        if (server.crashed) notes.push(server.crashed);
        if (server.problems.length)
          notes.push(`${server.label} logged: ${server.problems.slice(0, 5).join(' | ')}`);
        await server.stop();
      }
      results.push({ engine, rounds });
    }

    const rows = results.map(({ engine, rounds }) => {
      const all = summarize(rounds.flatMap((r) => r.latencyUs));
      const errors = rounds.flatMap((r) => r.errors);
      if (errors.length)
        notes.push(`${engine}: ${errors.length} bad answers, e.g. ${errors.slice(0, 3).join(' | ')}`);
      return {
        engine,
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
    });
    printTable({
      title: `longpoll — wake-up latency, ${HELD} held requests (wait=30) on one topic, ${ROUNDS} rounds after a warm-up`,
      headers: [
        'engine',
        'held',
        'p50 ms',
        'p99 ms',
        'max ms',
        'p99 per round (ms)',
        'publish ack ms',
        'client CPU busy',
        'errors',
      ],
      rows: rows.map((r) => [
        r.engine,
        r.held,
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        r.maxMs.toFixed(2),
        r.roundP99Ms.map((v) => v.toFixed(1)).join(' / '),
        r.publishAckMs.toFixed(2),
        `${(r.clientBusy * 100).toFixed(0)}%`,
        r.errors,
      ]),
      notes: [
        'Latency = publish sent → each held request answered (response head parsed by the client).',
        "client CPU busy = this process's CPU time / burst duration: well under 100% means the client kept up.",
      ],
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
