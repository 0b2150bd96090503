/**
 * A real Sentinel failover under publish load: 1 master + 2 replicas + 3 sentinels on loopback, a
 * Switchboard node in Sentinel mode (--redis-sentinels), closed-loop publishers recording every
 * acknowledged offset, a long-poll subscriber resuming by cursor. The master is SIGKILLed; the
 * test asserts clear 503s meanwhile (no hang), service back after the promotion, a gap-free and
 * duplicate-free subscriber, and reports how many acknowledged messages the failover lost. With
 * --redis-wait-replicas 1 it asserts that none were.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type SwitchboardServer } from '../../src/server/app.js';
import { SENTINEL_MASTER_NAME, type SentinelSetup, startSentinelSetup } from '../support/redis-sentinel.js';
import { redisServerAvailable } from '../support/redis-server.js';
import { fetchJson } from './nodes.js';

const TOPIC = 'failover';
const PUBLISHERS = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Refusal {
  status: number;
  code: string | undefined;
  ms: number;
  message?: string | undefined;
}

interface FailoverFigures {
  acknowledged: number;
  lost: number;
  unavailableMs: number;
  refusals: Refusal[];
  received: number[];
  resets: number;
}

async function failoverUnderLoad(setup: SentinelSetup, url: string): Promise<FailoverFigures> {
  const acks: Array<{ offset: number; data: string; started: number }> = [];
  const refusals: Refusal[] = [];
  let publishing = true;
  const publishers = Array.from({ length: PUBLISHERS }, async (_, p) => {
    for (let i = 0; publishing; i++) {
      const data = `${p}-${i}`;
      const started = Date.now();
      let acknowledged = false;
      try {
        const response = await fetch(`${url}/v1/topics/${TOPIC}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ data }),
        });
        const body = (await response.json()) as {
          offset?: number;
          error?: { code: string; message: string };
        };
        acknowledged = response.status === 201;
        if (acknowledged) acks.push({ offset: body.offset!, data, started });
        else {
          const { status } = response;
          refusals.push({
            status,
            code: body.error?.code,
            ms: Date.now() - started,
            message: body.error?.message,
          });
        }
      } catch {
        refusals.push({ status: 0, code: 'fetch failed', ms: Date.now() - started });
      }
      if (!acknowledged) await sleep(20);
    }
  });

  // The subscriber: long polls from its cursor, retrying the same cursor after any failure.
  const received: number[] = [];
  let resets = 0;
  let subscribing = true;
  const subscriber = (async () => {
    let after = 0;
    let epoch = '';
    while (subscribing) {
      const page = await fetchJson(
        `${url}/v1/topics/${TOPIC}/messages?after=${after}&wait=1${epoch ? `&epoch=${epoch}` : ''}`,
      ).catch(() => undefined);
      if (page?.status !== 200) {
        await sleep(50);
        continue;
      }
      if (page.reset) resets++;
      for (const message of page.messages) received.push(message.offset);
      after = page.next;
      epoch = page.epoch ?? '';
    }
  })();

  const waitFor = async (check: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) {
        const recent = refusals.slice(-3).map((r) => JSON.stringify(r));
        throw new Error(`${what} not within ${timeoutMs} ms (${acks.length} acks; ${recent.join(' ')})`);
      }
      await sleep(20);
    }
  };
  await waitFor(() => acks.length >= 200, 15_000, '200 acknowledged publishes');

  const oldMaster = setup.master.port;
  await setup.master.kill();
  const killedAt = Date.now();
  const acksAtKill = acks.length;
  // Sentinel promotes a replica (down-after 1 s + election); publishes must come back on their own.
  await waitFor(() => acks.length > acksAtKill + 200, 25_000, 'publishes succeeding after the failover');
  expect(await setup.currentMasterPort()).not.toBe(oldMaster);
  publishing = false;
  await Promise.all(publishers);

  // From the kill to the first publish, sent after it, that was acknowledged.
  const firstAfter = acks.slice(acksAtKill).find((ack) => ack.started > killedAt);
  const unavailableMs = (firstAfter?.started ?? Date.now()) - killedAt;

  // What survived: the log as the new master has it, against every acknowledgement.
  const stored = new Map<number, unknown>();
  let last = 0;
  for (let after = 0; ; ) {
    const page = await fetchJson(`${url}/v1/topics/${TOPIC}/messages?after=${after}&limit=1000`);
    expect(page.status).toBe(200);
    for (const message of page.messages) stored.set(message.offset, message.data);
    last = page.last;
    if (page.messages.length === 0 || page.next >= page.last) break;
    after = page.next;
  }
  const lost = acks.filter((ack) => stored.get(ack.offset) !== ack.data).length;

  await waitFor(() => (received.at(-1) ?? 0) >= last, 10_000, 'the subscriber catching up');
  subscribing = false;
  await subscriber;
  return { acknowledged: acks.length, lost, unavailableMs, refusals, received, resets };
}

function expectCleanFailover(figures: FailoverFigures): void {
  // Clear 503s while no master answered, each one quick: no request hung on the dead master.
  expect(figures.refusals.length).toBeGreaterThan(0);
  for (const refusal of figures.refusals) {
    expect({ status: refusal.status, code: refusal.code }).toEqual({ status: 503, code: 'unavailable' });
    expect(refusal.ms).toBeLessThan(6_000);
  }
  // The subscriber saw each offset once, in order, none skipped.
  const { received } = figures;
  expect(received.length).toBeGreaterThan(400);
  expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i + 1));
}

describe.skipIf(!redisServerAvailable())(
  'Redis Sentinel failover (1 master, 2 replicas, 3 sentinels)',
  () => {
    let setup: SentinelSetup | undefined;
    let server: SwitchboardServer | undefined;
    afterEach(async () => {
      await server?.close();
      await setup?.destroy();
      server = undefined;
      setup = undefined;
    });

    const start = async (waitReplicas: number): Promise<string> => {
      setup = await startSentinelSetup();
      server = await createServer({
        host: '127.0.0.1',
        port: 0,
        engine: 'redis',
        redisSentinels: setup.sentinelList,
        redisSentinelName: SENTINEL_MASTER_NAME,
        redisWaitReplicas: waitReplicas,
        publishRate: 0,
      });
      return server.listen();
    };

    const report = (mode: string, figures: FailoverFigures) =>
      console.log(
        `[sentinel failover, ${mode}] acknowledged ${figures.acknowledged}, lost ${figures.lost}, ` +
          `unavailable ${(figures.unavailableMs / 1000).toFixed(1)} s, ${figures.refusals.length} refusals (503), ` +
          `subscriber received ${figures.received.length}, resets ${figures.resets}`,
      );

    it('refuses to start, within seconds and clearly, when no sentinel answers', async () => {
      const started = Date.now();
      const failure = await createServer({
        host: '127.0.0.1',
        port: 0,
        engine: 'redis',
        redisSentinels: ['127.0.0.1:1'],
        redisSentinelName: SENTINEL_MASTER_NAME,
      }).then(
        (unexpected) => {
          server = unexpected;
          return undefined;
        },
        (error: Error) => error,
      );
      expect(failure?.message).toMatch(
        /Redis at sentinels 127\.0\.0\.1:1 \(master "switchboard"\) is not reachable/,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    }, 15_000);

    it('asynchronous replication: service resumes, the subscriber has no gap; reports the loss', async () => {
      const url = await start(0);
      const figures = await failoverUnderLoad(setup!, url);
      report('asynchronous replication', figures);
      expectCleanFailover(figures);
      expect(figures.unavailableMs).toBeLessThan(20_000);
    }, 50_000);

    it('--redis-wait-replicas 1: nothing acknowledged is lost', async () => {
      const url = await start(1);
      const figures = await failoverUnderLoad(setup!, url);
      report('--redis-wait-replicas 1', figures);
      expectCleanFailover(figures);
      expect(figures.lost).toBe(0);
    }, 50_000);
  },
);
