/**
 * `push` (issue 15): Web Push deliveries per second — encryption (RFC 8291) and VAPID included — to
 * 1,000 push subscriptions on one topic, next to webhook deliveries per second to 1,000 webhooks on
 * another topic, in the same server run; plus the encryption cost per message measured in-process.
 * The push service is a local receiver that answers every POST at once (2xx), so the figures are
 * the server's side: read, encrypt, sign, POST, record the cursor. Memory and SQLite engines; the
 * servers run with `--allow-private-webhooks` (the receiver is on loopback).
 */
import { createECDH, randomBytes } from 'node:crypto';
import { encryptPayload } from '../../src/core/push/encrypt.js';
import { generateVapidKeys, VapidSigner } from '../../src/core/push/vapid.js';
import { createPool, messagesPath, post, publishBody } from '../lib/http.js';
import { Receiver } from '../lib/receiver.js';
import { type Scenario, type ScenarioOutcome, waitUntil } from '../lib/scenario.js';
import { type EngineName, type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { fmt, printTable } from '../lib/table.js';

const ENGINES: EngineName[] = ['memory', 'sqlite'];
const DESTINATIONS = 1_000;
const MESSAGES = 5;
const TIMEOUT_MS = 120_000;
const ENCRYPTIONS = 2_000;

type Kind = 'push' | 'webhook';

interface FanoutResult {
  kind: Kind;
  destinations: number;
  messages: number;
  expected: number;
  received: number;
  seconds: number;
  deliveriesPerSecond: number;
  serverCpuUsPerDelivery: number;
}

/** What one 200-byte message costs to encrypt, and a VAPID JWT to sign (it is reused for an hour). */
function encryptionCost(): { encryptUs: number; signUs: number } {
  const browser = createECDH('prime256v1');
  const keys = { p256dh: browser.generateKeys(), auth: randomBytes(16) };
  const payload = Buffer.from(JSON.stringify({ topic: 'bench', offset: 1, data: 'x'.repeat(150) }));
  for (let i = 0; i < 100; i++) encryptPayload(payload, keys); // warm up
  let t0 = performance.now();
  for (let i = 0; i < ENCRYPTIONS; i++) encryptPayload(payload, keys);
  const encryptUs = ((performance.now() - t0) * 1000) / ENCRYPTIONS;
  const signer = new VapidSigner(generateVapidKeys());
  t0 = performance.now();
  for (let i = 0; i < 500; i++) signer.authorization(new URL(`https://push${i}.example/`), 0);
  const signUs = ((performance.now() - t0) * 1000) / 500;
  return { encryptUs, signUs };
}

async function fanout(server: RunningServer, receiver: Receiver, kind: Kind): Promise<FanoutResult> {
  const topic = `bench-${kind}`;
  const pool = createPool(server.url, 16);
  const browser = createECDH('prime256v1');
  const p256dh = browser.generateKeys().toString('base64url');
  const auth = randomBytes(16).toString('base64url');
  let received = 0;
  const stop = receiver.onReceive((path) => {
    if (path.startsWith(`/${kind}/`)) received++;
  });
  try {
    let next = 0;
    const register = async (): Promise<void> => {
      while (next < DESTINATIONS) {
        const url = `${receiver.url}/${kind}/${next++}`;
        const result =
          kind === 'push'
            ? await post(
                pool,
                `/v1/topics/${topic}/push-subscriptions`,
                JSON.stringify({ subscription: { endpoint: url, keys: { p256dh, auth } } }),
              )
            : await post(pool, `/v1/topics/${topic}/webhooks`, JSON.stringify({ url }));
        if (result.status !== 201) throw new Error(`${kind} register: HTTP ${result.status} ${result.text}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, register));
    const cpu0 = server.cpuSeconds();
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i++) await post(pool, messagesPath(topic), publishBody(150));
    const expected = DESTINATIONS * MESSAGES;
    await waitUntil(() => received >= expected, TIMEOUT_MS, 10).catch(() => {});
    const seconds = (performance.now() - t0) / 1000;
    const cpu = server.cpuSeconds() - cpu0;
    return {
      kind,
      destinations: DESTINATIONS,
      messages: MESSAGES,
      expected,
      received,
      seconds,
      deliveriesPerSecond: received / seconds,
      serverCpuUsPerDelivery: received ? (cpu / received) * 1e6 : Number.NaN,
    };
  } finally {
    stop();
    if (!pool.destroyed) await pool.destroy();
  }
}

export const pushScenario: Scenario = {
  name: 'push',
  description: `Web Push deliveries/s to ${fmt(DESTINATIONS)} subscriptions (encryption included) next to webhooks; encryption µs/message`,
  async run(context): Promise<ScenarioOutcome> {
    const notes: string[] = [];
    const cost = encryptionCost();
    context.log(
      `push: encrypt ${cost.encryptUs.toFixed(0)} µs/message, VAPID sign ${cost.signUs.toFixed(0)} µs`,
    );
    const results: Array<FanoutResult & { engine: EngineName }> = [];
    for (const engine of ENGINES) {
      const receiver = await Receiver.start();
      const server = await spawnSwitchboard(engine, ['--allow-private-webhooks']);
      try {
        for (const kind of ['push', 'webhook'] as const) {
          const result = await fanout(server, receiver, kind);
          context.log(`push: ${engine}: ${kind} ${fmt(result.deliveriesPerSecond)} deliveries/s`);
          if (result.received < result.expected)
            notes.push(`${engine}: ${kind} delivered ${result.received} of ${result.expected}`);
          results.push({ engine, ...result });
        }
      } finally {
        if (server.crashed) notes.push(server.crashed);
        if (server.problems.length)
          notes.push(`${server.label} logged: ${server.problems.slice(0, 5).join(' | ')}`);
        await server.stop();
        await receiver.close();
      }
    }
    printTable({
      title: `push — ${fmt(MESSAGES)} messages to ${fmt(DESTINATIONS)} push subscriptions vs ${fmt(DESTINATIONS)} webhooks (same server run)`,
      headers: ['engine', 'kind', 'deliveries/s', 'received', 'seconds', 'server CPU µs/delivery'],
      rows: results.map((r) => [
        r.engine,
        r.kind,
        r.deliveriesPerSecond,
        `${r.received}/${r.expected}`,
        r.seconds.toFixed(2),
        r.serverCpuUsPerDelivery,
      ]),
      notes: [
        `In-process: aes128gcm encryption of a 200-byte message ${cost.encryptUs.toFixed(0)} µs (one ECDH key pair + ECDH + HKDF + AES-GCM each); a VAPID JWT ${cost.signUs.toFixed(0)} µs to sign, reused for an hour per push service.`,
        'deliveries/s = deliveries received / time from the first publish to the last delivery (one request at a time per destination, 256 in flight).',
      ],
    });
    return {
      targets: [],
      headlines: [
        `encryption ${cost.encryptUs.toFixed(0)} µs/message, VAPID signature ${cost.signUs.toFixed(0)} µs (cached per push service)`,
        ...ENGINES.map((engine) => {
          const of = (kind: Kind) => results.find((r) => r.engine === engine && r.kind === kind);
          return `${engine}: push ${fmt(of('push')?.deliveriesPerSecond ?? Number.NaN)} deliveries/s vs webhook ${fmt(of('webhook')?.deliveriesPerSecond ?? Number.NaN)} deliveries/s (${fmt(DESTINATIONS)} destinations each)`;
        }),
      ],
      notes: [...new Set(notes)],
      json: { destinations: DESTINATIONS, messages: MESSAGES, encryption: cost, results },
    };
  },
};
