/**
 * Many jobs, four competing workers: every job is handed to exactly one worker at a time and
 * completed exactly once; and many messages through one webhook, in order. Prints rough rates (the
 * bench module owns real measurements; these numbers only show the order of magnitude).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { post, startServer, type TestServer } from '../support/server.js';
import { startReceiver } from '../webhooks/receiver.js';
import { act, claim, submit } from './helpers.js';

const JOBS = 200;
const WORKERS = 4;
const MESSAGES = 300;

describe.each(ENGINE_FIXTURES.filter((f) => f.name !== 'memory'))(
  'throughput on $name',
  ({ fixture: makeFixture }) => {
    let fixture: EngineFixture;
    let server: TestServer;
    beforeAll(async () => {
      fixture = makeFixture();
      server = await startServer(fixture, { allowPrivateWebhooks: true, publishRate: 0 });
    });
    afterAll(async () => {
      await server.close();
      fixture.cleanup();
    });

    it(`completes ${JOBS} jobs with ${WORKERS} workers, each exactly once`, async () => {
      const { url } = server;
      const started = performance.now();
      const ids = await Promise.all(
        Array.from({ length: JOBS }, (_, i) => submit(url, 'bulk', { payload: i }).then((r) => r.body.id)),
      );
      const submitted = performance.now();
      const completedBy = new Map<string, number>();
      let duplicates = 0;
      const worker = async (n: number) => {
        for (;;) {
          const claimed = await claim(url, 'bulk');
          if (claimed.status === 204) return;
          const { job, lease } = claimed.body;
          const done = await act(url, job.id, 'complete', { lease, result: n });
          expect(done.status).toBe(200);
          if (completedBy.has(job.id)) duplicates++;
          completedBy.set(job.id, n);
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, (_, n) => worker(n)));
      const finished = performance.now();
      expect(duplicates).toBe(0);
      expect(new Set(completedBy.keys())).toEqual(new Set(ids));
      expect(new Set(completedBy.values()).size).toBeGreaterThan(1); // the work was shared
      const rate = (count: number, ms: number) => Math.round((count * 1000) / ms);
      console.log(
        `${fixture.name}: submit ${rate(JOBS, submitted - started)} jobs/s (concurrent), claim+complete with ${WORKERS} workers ${rate(JOBS, finished - submitted)} jobs/s, end to end ${rate(JOBS, finished - started)} jobs/s`,
      );
    });

    it(`delivers ${MESSAGES} messages through one webhook in order`, async () => {
      const receiver = await startReceiver();
      try {
        await post(`${server.url}/v1/topics/firehose/webhooks`, { url: `${receiver.url}/all` });
        const started = performance.now();
        const batch = Array.from({ length: MESSAGES }, (_, n) => ({ data: { n } }));
        expect((await post(`${server.url}/v1/topics/firehose/messages`, batch)).status).toBe(201);
        const received = await receiver.waitFor('/all', MESSAGES, 15_000);
        const elapsed = performance.now() - started;
        expect(received.map((r) => JSON.parse(r.body).data.n)).toEqual(batch.map((m) => m.data.n));
        console.log(
          `${fixture.name}: ${Math.round((MESSAGES * 1000) / elapsed)} webhook deliveries/s (one webhook, sequential)`,
        );
      } finally {
        await receiver.close();
      }
    });
  },
);
