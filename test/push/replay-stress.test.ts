/**
 * Replay-then-live under concurrent publishing: subscribers join at random moments with random
 * cursors while several publishers keep appending (single messages and batches). Each subscriber
 * must receive every offset after its cursor exactly once, in order — over SSE, WebSocket and the
 * in-process API, for every engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';
import { openSse } from './support/sse-client.js';
import { freshTopic, until } from './support/util.js';
import { connectWs } from './support/ws-client.js';

const BACKLOG = 1_500; // more than one replay page (1,000)
const PUBLISHERS = 4;
const ROUNDS = 40; // per publisher; every fourth round is a batch of 10
const SUBSCRIBERS = 6;

interface Subscriber {
  after: number;
  offsets: () => number[];
  close(): void;
}

type Transport = 'sse' | 'websocket' | 'in-process';

describe.each(ENGINE_FIXTURES)(
  'replay-then-live under concurrent publishes: $name',
  ({ fixture: makeFixture }) => {
    let fixture: EngineFixture;
    let server: TestServer;

    beforeAll(async () => {
      fixture = makeFixture();
      server = await startServer(fixture);
    });
    afterAll(async () => {
      await server.close();
      fixture.cleanup();
    });

    async function subscribe(transport: Transport, topic: string, after: number): Promise<Subscriber> {
      if (transport === 'sse') {
        const sse = await openSse(`${server.url}/v1/topics/${topic}/events?after=${after}`);
        return { after, offsets: () => sse.messages().map((m) => m.offset), close: () => sse.close() };
      }
      if (transport === 'websocket') {
        const client = await connectWs(server.url);
        client.send({ op: 'subscribe', id: 1, topic, after });
        return { after, offsets: () => client.messages().map((m) => m.offset), close: () => client.close() };
      }
      const offsets: number[] = [];
      const subscription = server.server.hub.subscribe(topic, {
        after,
        onMessage: (m) => offsets.push(m.offset),
      });
      return { after, offsets: () => offsets, close: () => subscription.unsubscribe() };
    }

    it.each<Transport>(['sse', 'websocket', 'in-process'])(
      '%s: every offset after the cursor arrives exactly once, in order',
      async (transport) => {
        const { hub } = server.server;
        const topic = freshTopic('stress');
        for (let i = 0; i < BACKLOG; i += 100) {
          await hub.publishInputs(
            topic,
            Array.from({ length: 100 }, (_, j) => ({ data: String(i + j) })),
          );
        }
        let published = BACKLOG;
        const publisher = async (p: number): Promise<void> => {
          for (let round = 0; round < ROUNDS; round++) {
            const count = round % 4 === 3 ? 10 : 1;
            const inputs = Array.from({ length: count }, () => ({ data: `"p${p}"` }));
            await hub.publishInputs(topic, inputs);
            published += count;
            await new Promise((resolve) => setTimeout(resolve, 1)); // spread publishes over the joins
          }
        };
        let publishingDone = false;
        const publishing = Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => publisher(p))).then(
          () => {
            publishingDone = true;
          },
        );
        const subscribers: Subscriber[] = [];
        let joinedDuringPublishing = 0;
        for (let s = 0; s < SUBSCRIBERS; s++) {
          const after = Math.floor(Math.random() * published);
          subscribers.push(await subscribe(transport, topic, after));
          if (!publishingDone) joinedDuringPublishing++;
          await new Promise((resolve) => setTimeout(resolve, 3));
        }
        await publishing;
        expect(joinedDuringPublishing).toBeGreaterThanOrEqual(SUBSCRIBERS / 2);
        const total = BACKLOG + PUBLISHERS * (ROUNDS / 4) * (3 + 10);
        expect(published).toBe(total);
        try {
          await new Promise((resolve) => setTimeout(resolve, 50)); // late duplicates would show up here
          for (const subscriber of subscribers) {
            await until(
              () => subscriber.offsets().length >= total - subscriber.after,
              10_000,
              `offsets up to ${total}`,
            );
            const expected = Array.from(
              { length: total - subscriber.after },
              (_, i) => subscriber.after + 1 + i,
            );
            expect(subscriber.offsets()).toEqual(expected);
          }
        } finally {
          for (const subscriber of subscribers) subscriber.close();
        }
      },
    );
  },
);
