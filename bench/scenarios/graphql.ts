/**
 * `graphql` (issue 13): subscription fan-out to 1,000 graphql-ws subscribers next to 1,000 plain
 * WebSocket (/v1/ws) subscribers, on one server (memory engine), rounds interleaved. Each round
 * publishes 100 messages (100-byte payloads, at most 16 ahead of the slowest subscriber) to one
 * door's topic and waits until every subscriber has every message; reported: deliveries/s and
 * server CPU µs per delivery (median round). Target: graphql ≥ 0.5× WebSocket deliveries/s — the
 * selection set is executed once per event and shared (src/patterns/graphql/shared-execution.ts).
 * Subscribers are raw `ws` sockets speaking each protocol, so the client side costs the same.
 */
import WebSocket from 'ws';
import { cpuMeter } from '../lib/proc.js';
import type { Scenario, ScenarioOutcome } from '../lib/scenario.js';
import { spawnSwitchboard } from '../lib/server.js';
import { median } from '../lib/stats.js';
import { fmt, printTable } from '../lib/table.js';

const SUBSCRIBERS = 1_000;
const MESSAGES = 100;
const AHEAD = 16;
const ROUNDS = 3;
const PAYLOAD = 'x'.repeat(90);
const QUERY = 'subscription ($t: String!) { messages(topic: $t) { ... on Message { offset data } } }';

type Door = 'websocket' | 'graphql';

interface Subscriber {
  received: number;
}

async function connect(wsUrl: string, door: Door, topic: string, subscriber: Subscriber): Promise<WebSocket> {
  const url = door === 'websocket' ? `${wsUrl}/v1/ws` : `${wsUrl}/graphql`;
  const socket = new WebSocket(url, door === 'graphql' ? 'graphql-transport-ws' : []);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  await new Promise<void>((resolve) => {
    socket.on('message', (data) => {
      const text = String(data);
      if (door === 'websocket') {
        if (text.startsWith('{"op":"message"')) subscriber.received++;
        else if (text.includes('"op":"reply"')) resolve();
      } else if (text.startsWith('{"id"')) subscriber.received++;
      else if (text.includes('connection_ack')) {
        socket.send(
          JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY, variables: { t: topic } } }),
        );
        setTimeout(resolve, 50); // graphql-ws sends nothing on subscribe: give it a moment
      }
    });
    if (door === 'websocket') socket.send(JSON.stringify({ op: 'subscribe', id: 1, topic }));
    else socket.send(JSON.stringify({ type: 'connection_init' }));
  });
  return socket;
}

export const graphqlScenario: Scenario = {
  name: 'graphql',
  description:
    'GraphQL subscription fan-out (graphql-ws, 1,000 subscribers) next to plain WebSocket; target ≥ 0.5×',
  async run(context): Promise<ScenarioOutcome> {
    const server = await spawnSwitchboard('memory');
    const sockets: WebSocket[] = [];
    const notes: string[] = [];
    const rounds: Record<Door, Array<{ perSecond: number; cpuMicros: number }>> = {
      websocket: [],
      graphql: [],
    };
    try {
      const groups = {} as Record<Door, { topic: string; subscribers: Subscriber[] }>;
      for (const door of ['websocket', 'graphql'] as const) {
        const topic = `bench.graphql.${door}`;
        const subscribers = Array.from({ length: SUBSCRIBERS }, () => ({ received: 0 }));
        for (let i = 0; i < SUBSCRIBERS; i += 50) {
          sockets.push(
            ...(await Promise.all(
              subscribers.slice(i, i + 50).map((s) => connect(server.wsUrl, door, topic, s)),
            )),
          );
        }
        groups[door] = { topic, subscribers };
      }
      context.log(`graphql: ${sockets.length} subscribers connected`);
      for (let round = 0; round < ROUNDS; round++) {
        for (const door of ['websocket', 'graphql'] as const) {
          const { topic, subscribers } = groups[door];
          const start = subscribers.map((s) => s.received);
          const slowest = () => Math.min(...subscribers.map((s, i) => s.received - start[i]!));
          const meter = cpuMeter([server.pid]);
          const began = performance.now();
          for (let sent = 0; sent < MESSAGES; sent++) {
            while (sent - slowest() >= AHEAD) await new Promise((r) => setImmediate(r));
            await fetch(`${server.url}/v1/topics/${topic}/messages`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ data: PAYLOAD }),
            });
          }
          const deadline = Date.now() + 30_000;
          while (slowest() < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
          const seconds = (performance.now() - began) / 1000;
          const [cpu] = meter.stop();
          const deliveries = subscribers.reduce((sum, s, i) => sum + s.received - start[i]!, 0);
          if (deliveries < SUBSCRIBERS * MESSAGES)
            notes.push(`${door} round ${round}: ${deliveries} of ${SUBSCRIBERS * MESSAGES} delivered`);
          rounds[door].push({
            perSecond: deliveries / seconds,
            cpuMicros: ((cpu ?? 0) * 1e6) / Math.max(1, deliveries),
          });
        }
      }
    } finally {
      for (const socket of sockets) socket.terminate();
      await server.stop();
    }
    const summary = (door: Door) => ({
      perSecond: median(rounds[door].map((r) => r.perSecond)),
      cpuMicros: median(rounds[door].map((r) => r.cpuMicros)),
    });
    const ws = summary('websocket');
    const gql = summary('graphql');
    const ratio = gql.perSecond / ws.perSecond;
    printTable({
      title: `graphql: fan-out to ${SUBSCRIBERS} subscribers (median of ${ROUNDS} rounds)`,
      headers: ['door', 'deliveries/s', 'server CPU µs/delivery'],
      rows: [
        ['websocket (/v1/ws)', fmt(ws.perSecond), fmt(ws.cpuMicros)],
        ['graphql-ws (/graphql)', fmt(gql.perSecond), fmt(gql.cpuMicros)],
      ],
    });
    return {
      targets: [
        {
          target: 'graphql-ws fan-out ≥ 0.5× WebSocket deliveries/s (1,000 subscribers)',
          measured: `${ratio.toFixed(2)}×`,
          ok: ratio >= 0.5,
        },
      ],
      headlines: [`graphql-ws ${fmt(gql.perSecond)}/s vs WebSocket ${fmt(ws.perSecond)}/s`],
      notes,
      json: { subscribers: SUBSCRIBERS, messages: MESSAGES, rounds, websocket: ws, graphql: gql, ratio },
    };
  },
};
