/**
 * `requests` (issue 11): request-reply round trip p50/p99 over HTTP and WebSocket with 1 and 16
 * responders (WebSocket group members answering with the `respond` op), next to a plain publish →
 * WebSocket delivery measured in the same run; requests/s with 64 concurrent HTTP callers; and the
 * presence list of a topic with 5,000 WebSocket subscribers. Memory engine.
 * Targets: round trip p50 ≤ 2.5× the one-way delivery p50; presence list p50 < 50 ms.
 */
import WebSocket from 'ws';
import { type Scenario, type ScenarioOutcome, sleep } from '../lib/scenario.js';
import { spawnSwitchboard } from '../lib/server.js';
import { type Summary, summarize } from '../lib/stats.js';
import { fmt, printTable } from '../lib/table.js';

const SAMPLES = 400;
const CONCURRENT_CALLERS = 64;
const THROUGHPUT_SECONDS = 4;
const PRESENT = 5_000;

async function open(wsUrl: string): Promise<WebSocket> {
  const ws = new WebSocket(`${wsUrl}/v1/ws`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

/** Sends an op and resolves with its reply frame. */
function call(ws: WebSocket, op: Record<string, unknown>, id: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (raw: WebSocket.RawData): void => {
      const frame = JSON.parse(raw.toString()) as Record<string, unknown>;
      if (frame.op !== 'reply' || frame.id !== id) return;
      ws.off('message', onMessage);
      resolve(frame);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ ...op, id }));
  });
}

/** `count` responders on `topic`: a group when more than one, each answering `{"ok":true}` at once. */
async function responders(wsUrl: string, topic: string, count: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i++) {
    const ws = await open(wsUrl);
    let nextId = 1_000;
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { op: string; replyTo?: string; offset?: number };
      if (frame.op !== 'message' || frame.replyTo === undefined) return;
      ws.send(JSON.stringify({ op: 'respond', id: nextId++, replyTo: frame.replyTo, data: { ok: true } }));
      if (count > 1) {
        ws.send(JSON.stringify({ op: 'ack', id: nextId++, topic, group: 'rpc', offsets: [frame.offset] }));
      }
    });
    const subscribe =
      count > 1 ? { op: 'subscribe', topic, group: 'rpc', window: 16 } : { op: 'subscribe', topic };
    await call(ws, subscribe, 1);
    sockets.push(ws);
  }
  return sockets;
}

/** Publish (over `via`) → delivery to a WebSocket subscriber: the one-way trip a round trip is compared with. */
async function oneWay(url: string, wsUrl: string, via: 'http' | 'websocket'): Promise<Summary> {
  const publisher = await open(wsUrl);
  const subscriber = await open(wsUrl);
  await call(subscriber, { op: 'subscribe', topic: 'oneway' }, 1);
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const received = new Promise<void>((resolve) =>
      subscriber.once('message', () => {
        resolve();
      }),
    );
    const t0 = performance.now();
    if (via === 'websocket') {
      publisher.send(JSON.stringify({ op: 'publish', id: i + 10, topic: 'oneway', data: { i } }));
    } else {
      void fetch(`${url}/v1/topics/oneway/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: { i } }),
      }).then((response) => response.arrayBuffer());
    }
    await received;
    samples.push(performance.now() - t0);
  }
  publisher.close();
  subscriber.close();
  return summarize(samples);
}

async function roundTrips(
  url: string,
  wsUrl: string,
  topic: string,
  via: 'http' | 'websocket',
): Promise<Summary> {
  const samples: number[] = [];
  const caller = via === 'websocket' ? await open(wsUrl) : undefined;
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    if (caller) {
      const reply = await call(caller, { op: 'request', topic, data: { i }, timeoutMs: 5_000 }, i + 1);
      if (reply.ok !== true) throw new Error(`request failed: ${JSON.stringify(reply)}`);
    } else {
      const response = await fetch(`${url}/v1/topics/${topic}/requests?timeout=5`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: { i } }),
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`request answered ${response.status}`);
    }
    samples.push(performance.now() - t0);
  }
  caller?.close();
  return summarize(samples);
}

async function throughput(url: string, topic: string): Promise<number> {
  let done = 0;
  const until = Date.now() + THROUGHPUT_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENT_CALLERS }, async () => {
      while (Date.now() < until) {
        const response = await fetch(`${url}/v1/topics/${topic}/requests?timeout=10`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"data":1}',
        });
        await response.arrayBuffer();
        if (response.status === 200) done++;
      }
    }),
  );
  return done / THROUGHPUT_SECONDS;
}

async function presenceList(url: string, wsUrl: string): Promise<{ listed: number; latency: Summary }> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < PRESENT; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, PRESENT - i) }, () => open(wsUrl)));
    await Promise.all(
      batch.map((ws, j) => call(ws, { op: 'subscribe', topic: 'lobby', info: { n: i + j } }, 1)),
    );
    sockets.push(...batch);
  }
  const samples: number[] = [];
  let listed = 0;
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const answer = (await (await fetch(`${url}/v1/topics/lobby/presence`)).json()) as { count: number };
    samples.push(performance.now() - t0);
    listed = answer.count;
  }
  for (const ws of sockets) ws.terminate();
  return { listed, latency: summarize(samples) };
}

export const requestsScenario: Scenario = {
  name: 'requests',
  description:
    'request-reply round trip (HTTP, WebSocket; 1 and 16 responders) vs one-way delivery; presence list of 5,000',
  async run(context): Promise<ScenarioOutcome> {
    const server = await spawnSwitchboard('memory');
    try {
      context.log('one-way publish → WebSocket delivery');
      const delivery = {
        http: await oneWay(server.url, server.wsUrl, 'http'),
        websocket: await oneWay(server.url, server.wsUrl, 'websocket'),
      };
      const rows: Array<{ via: string; responders: number; trip: Summary }> = [];
      for (const count of [1, 16]) {
        const topic = `rpc-${count}`;
        const sockets = await responders(server.wsUrl, topic, count);
        await sleep(100);
        for (const via of ['http', 'websocket'] as const) {
          context.log(`round trips over ${via}, ${count} responder(s)`);
          rows.push({ via, responders: count, trip: await roundTrips(server.url, server.wsUrl, topic, via) });
        }
        if (count === 16) {
          context.log(`${CONCURRENT_CALLERS} concurrent HTTP callers`);
          const perSecond = await throughput(server.url, topic);
          rows.push({
            via: `http x${CONCURRENT_CALLERS}`,
            responders: count,
            trip: summarize([1000 / perSecond]),
          });
        }
        for (const ws of sockets) ws.close();
      }
      context.log(`presence list with ${PRESENT} subscribers`);
      const presence = await presenceList(server.url, server.wsUrl);
      const perSecond = 1000 / rows.at(-1)!.trip.p50;
      printTable({
        title: 'request-reply round trip (ms) vs one-way publish → WebSocket delivery',
        headers: ['path', 'responders', 'p50', 'p90', 'p99', 'max'],
        rows: [
          ...(['http', 'websocket'] as const).map((via) => [
            `one-way ${via} publish → ws`,
            '-',
            fmt(delivery[via].p50),
            fmt(delivery[via].p90),
            fmt(delivery[via].p99),
            fmt(delivery[via].max),
          ]),
          ...rows
            .filter((r) => !r.via.includes(' x'))
            .map((r) => [
              r.via,
              r.responders,
              fmt(r.trip.p50),
              fmt(r.trip.p90),
              fmt(r.trip.p99),
              fmt(r.trip.max),
            ]),
        ],
        notes: [
          `${CONCURRENT_CALLERS} concurrent HTTP callers, 16 responders: ${Math.round(perSecond)} requests/s`,
          `presence list of ${presence.listed} subscribers: p50 ${fmt(presence.latency.p50)} ms, p99 ${fmt(presence.latency.p99)} ms`,
        ],
      });
      // Like with like: an HTTP round trip against an HTTP publish's delivery, WebSocket against WebSocket.
      const ratios = rows
        .filter((r) => !r.via.includes(' x'))
        .map((r) => ({ ...r, ratio: r.trip.p50 / delivery[r.via as 'http' | 'websocket'].p50 }));
      const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
      return {
        targets: [
          {
            target:
              'request-reply round trip p50 ≤ 2.5× one-way publish → WebSocket delivery p50 (same door)',
            measured: `worst: ${worst.via}, ${worst.responders} responder(s), ${fmt(worst.trip.p50)} ms = ${worst.ratio.toFixed(2)}× one-way`,
            ok: worst.ratio <= 2.5,
          },
          {
            target: `presence list of ${PRESENT} subscribers answered in < 50 ms (p50)`,
            measured: `${presence.listed} listed, p50 ${fmt(presence.latency.p50)} ms`,
            ok: presence.listed === PRESENT && presence.latency.p50 < 50,
          },
        ],
        headlines: [
          `request-reply: ${Math.round(perSecond)} requests/s with ${CONCURRENT_CALLERS} HTTP callers`,
        ],
        notes: server.problems.slice(0, 3),
        json: { delivery, rows, presence, requestsPerSecond: perSecond },
      };
    } finally {
      await server.stop();
    }
  },
};
