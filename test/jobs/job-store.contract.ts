/**
 * The JobStore and WebhookStore contracts (run on every engine by job-store.test.ts, on Redis Cluster
 * by test/redis-cluster/stores.test.ts): compare-and-set, the status
 * message appended in the same step, idempotency keys, the queries maintenance relies on, settings
 * and leases — and, where the engine keeps data, all of it after a reopen.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engines/engine.js';
import type { JobRecord, JobStatusMessage } from '../../src/engines/job-store.js';
import type { WebhookRecord } from '../../src/engines/webhook-store.js';
import type { EngineFixture } from '../support/engines.js';

const RETENTION = { maxCount: 1_000, maxAgeMs: 86_400_000 };
let counter = 0;

function job(fields: Partial<JobRecord> = {}): JobRecord {
  const id = `job_${String(++counter).padStart(22, '0')}`;
  return {
    id,
    queue: 'uploads',
    status: 'queued',
    payload: '{"file":"a.txt"}',
    progress: 0,
    note: null,
    result: null,
    error: null,
    attempts: 0,
    maxAttempts: 3,
    timeoutMs: 1_000,
    version: 1,
    revision: 1,
    createdAt: 1_000 + counter,
    updatedAt: 1_000 + counter,
    finishedAt: null,
    idempotencyKey: null,
    callbackUrl: null,
    callbackSecret: null,
    lease: null,
    leaseExpiresAt: null,
    offset: null,
    ...fields,
  };
}

const status = (record: JobRecord, event = record.status): JobStatusMessage => ({
  topic: `jobs.${record.queue}.${record.id}`,
  event,
  data: JSON.stringify({ id: record.id, version: record.version }),
  now: record.updatedAt,
  retention: RETENTION,
  dedupeWindowMs: 60_000,
});

const submission = (record: JobRecord): JobStatusMessage => ({
  topic: `jobs.${record.queue}`,
  event: 'submitted',
  data: `{"id":"${record.id}","payload":${record.payload}}`,
  now: record.createdAt,
  retention: RETENTION,
  dedupeWindowMs: 60_000,
});

const create = (engine: Engine, record: JobRecord) =>
  engine.createJob({ job: record, submission: submission(record), status: status(record) });

function webhook(id: string, fields: Partial<WebhookRecord> = {}): WebhookRecord {
  return {
    id,
    kind: 'topic',
    topic: 'orders',
    url: 'https://example.com/hook',
    secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0',
    createdAt: 1_000 + ++counter,
    epoch: null,
    cursor: 0,
    attempt: 0,
    nextAttemptAt: 0,
    delivered: 0,
    failed: 0,
    failedAttempts: 0,
    consecutiveFailures: 0,
    lastError: null,
    lastErrorAt: null,
    lastDeliveredAt: null,
    done: false,
    revision: 1,
    ...fields,
  };
}

export function jobStoreContract(fixtures: Array<{ name: string; fixture: () => EngineFixture }>): void {
  describe.each(fixtures)('job and webhook stores on $name', ({ name, fixture: makeFixture }) => {
    let fixture: EngineFixture;
    let engine: Engine;
    beforeEach(async () => {
      fixture = makeFixture();
      engine = fixture.create();
      await engine.open();
    });
    afterEach(async () => {
      await engine.close();
      fixture.cleanup();
    });

    it('creates a job with its submission and status message in the same step', async () => {
      await engine.append({
        topic: 'jobs.uploads',
        entries: [{ data: '"earlier"' }],
        now: 1,
        dedupeWindowMs: 0,
        retention: RETENTION,
      });
      const record = job();
      const stored = { ...record, offset: 2 }; // the submission's place in the queue topic
      expect(await create(engine, record)).toEqual({ job: stored, created: true });
      expect(await engine.getJob(record.id)).toEqual(stored);
      const log = await engine.read(`jobs.uploads.${record.id}`, 0, 10);
      expect(log.messages.map((m) => [m.offset, m.event, m.data])).toEqual([
        [1, 'queued', JSON.stringify({ id: record.id, version: 1 })],
      ]);
      const queue = await engine.read('jobs.uploads', 1, 10);
      expect(queue.messages.map((m) => [m.offset, m.event, m.data])).toEqual([
        [2, 'submitted', submission(record).data],
      ]);
      expect(await engine.getJob('job_missing')).toBeNull();
    });

    it('answers the existing job for a repeated idempotency key in the same queue only', async () => {
      const first = job({ idempotencyKey: 'upload-7' });
      await create(engine, first);
      const again = job({ idempotencyKey: 'upload-7' });
      const repeat = await create(engine, again);
      expect(repeat).toEqual({ job: { ...first, offset: 1 }, created: false });
      expect(await engine.getJob(again.id)).toBeNull();
      expect((await engine.state(`jobs.uploads.${again.id}`)).last).toBe(0); // nothing appended
      expect((await engine.state('jobs.uploads')).last).toBe(1);
      const elsewhere = job({ idempotencyKey: 'upload-7', queue: 'thumbnails' });
      expect((await create(engine, elsewhere)).created).toBe(true);
    });

    it('compare-and-sets on the revision, appending only visible changes', async () => {
      const record = job();
      await create(engine, record);
      const running = {
        ...record,
        status: 'running' as const,
        version: 2,
        revision: 2,
        lease: 'l',
        leaseExpiresAt: 5_000,
      };
      expect(
        await engine.updateJob({ job: running, expectedRevision: 1, status: status(running, 'running') }),
      ).toBe(true);
      const stale = { ...record, status: 'canceled' as const, version: 2, revision: 2 };
      expect(await engine.updateJob({ job: stale, expectedRevision: 1, status: status(stale) })).toBe(false);
      const quiet = { ...running, offset: 9, revision: 3 };
      expect(await engine.updateJob({ job: quiet, expectedRevision: 2, status: null })).toBe(true);
      expect(await engine.getJob(record.id)).toEqual(quiet);
      expect((await engine.state(`jobs.uploads.${record.id}`)).last).toBe(2);
      const ghost = job();
      expect(
        await engine.updateJob({ job: { ...ghost, revision: 2 }, expectedRevision: 1, status: null }),
      ).toBe(false);
    });

    it('finds expired leases, finished jobs, active queues and queued jobs by offset', async () => {
      const records = [
        job({ status: 'running', leaseExpiresAt: 3_000, lease: 'a', offset: 1 }),
        job({ status: 'running', leaseExpiresAt: 2_000, lease: 'b', offset: 2 }),
        job({ status: 'running', leaseExpiresAt: 9_000, lease: 'c', offset: 3 }),
        job({ status: 'succeeded', finishedAt: 4_000, offset: 4 }),
        job({ status: 'failed', finishedAt: 1_500, offset: 5, queue: 'other' }),
        job({ status: 'queued', offset: 6 }),
        job({ status: 'queued', offset: null }),
        job({ status: 'queued', offset: 8, queue: 'thumbs' }),
      ];
      for (const record of records) {
        // Created queued, then moved to the state under test (createJob sets the offset itself).
        await create(engine, {
          ...record,
          status: 'queued',
          finishedAt: null,
          lease: null,
          leaseExpiresAt: null,
        });
        await engine.updateJob({ job: { ...record, revision: 2 }, expectedRevision: 1, status: null });
      }
      const ids = (list: JobRecord[]) => list.map((r) => r.id);
      expect(ids(await engine.expiredLeases(3_000, 10))).toEqual([records[1]!.id, records[0]!.id]);
      expect(ids(await engine.expiredLeases(3_000, 1))).toEqual([records[1]!.id]);
      expect(ids(await engine.finishedBefore(4_001, 10))).toEqual([records[4]!.id, records[3]!.id]);
      expect(ids(await engine.finishedBefore(4_000, 10))).toEqual([records[4]!.id]);
      expect(await engine.activeQueues()).toEqual(['thumbs', 'uploads']);
      expect(ids(await engine.queuedThrough('uploads', 6, 10))).toEqual([records[5]!.id, records[6]!.id]);
      expect(ids(await engine.queuedThrough('uploads', 5, 10))).toEqual([records[6]!.id]);
      // A job leaving the active states leaves the queries.
      const done = { ...records[7]!, status: 'canceled' as const, finishedAt: 10, version: 2, revision: 3 };
      await engine.updateJob({ job: done, expectedRevision: 2, status: status(done) });
      expect(await engine.activeQueues()).toEqual(['uploads']);
      expect(await engine.deleteJob(records[3]!.id)).toBe(true);
      expect(await engine.deleteJob(records[3]!.id)).toBe(false);
      expect(ids(await engine.finishedBefore(5_000, 10))).toEqual([records[7]!.id, records[4]!.id]);
    });

    it('counts jobs by queue and status through every transition and deletion', async () => {
      const sorted = async () =>
        (await engine.countJobs())
          .filter((c) => c.count > 0)
          .map((c) => `${c.queue}/${c.status}=${c.count}`)
          .sort();
      expect(await sorted()).toEqual([]);
      const a = job();
      const b = job();
      const c = job({ queue: 'thumbs' });
      for (const record of [a, b, c]) await create(engine, record);
      expect(await sorted()).toEqual(['thumbs/queued=1', 'uploads/queued=2']);
      const running = {
        ...a,
        status: 'running' as const,
        lease: 'l',
        leaseExpiresAt: 5_000,
        version: 2,
        revision: 2,
      };
      expect(await engine.updateJob({ job: running, expectedRevision: 1, status: status(running) })).toBe(
        true,
      );
      // A refused compare-and-set changes no count.
      expect(
        await engine.updateJob({
          job: { ...b, status: 'canceled', revision: 9 },
          expectedRevision: 7,
          status: null,
        }),
      ).toBe(false);
      const done = { ...running, status: 'succeeded' as const, finishedAt: 6_000, version: 3, revision: 3 };
      expect(await engine.updateJob({ job: done, expectedRevision: 2, status: status(done) })).toBe(true);
      expect(await sorted()).toEqual(['thumbs/queued=1', 'uploads/queued=1', 'uploads/succeeded=1']);
      expect(await engine.deleteJob(a.id)).toBe(true);
      expect(await sorted()).toEqual(['thumbs/queued=1', 'uploads/queued=1']);
    });

    it('forgets an idempotency key with its job', async () => {
      const first = job({ idempotencyKey: 'k' });
      await create(engine, first);
      await engine.deleteJob(first.id);
      const second = job({ idempotencyKey: 'k' });
      expect((await create(engine, second)).created).toBe(true);
    });

    it('stores webhooks with compare-and-set, in registration order', async () => {
      const a = webhook('wh_a');
      const b = webhook('wh_b', { kind: 'callback', secret: null });
      expect(await engine.createWebhook(a)).toBe(true);
      expect(await engine.createWebhook(b)).toBe(true);
      expect(await engine.createWebhook({ ...a, url: 'https://other.example' })).toBe(false);
      expect((await engine.listWebhooks()).map((w) => w.id)).toEqual(['wh_a', 'wh_b']);
      const moved = { ...a, cursor: 5, delivered: 5, revision: 2 };
      expect(await engine.updateWebhook(moved, 1)).toBe(true);
      expect(await engine.updateWebhook({ ...a, cursor: 9, revision: 2 }, 1)).toBe(false);
      expect(await engine.getWebhook('wh_a')).toEqual(moved);
      expect(await engine.deleteWebhook('wh_a')).toBe(true);
      expect(await engine.deleteWebhook('wh_a')).toBe(false);
      expect(await engine.getWebhook('wh_a')).toBeNull();
      expect(await engine.updateWebhook({ ...moved, revision: 3 }, 2)).toBe(false);
    });

    it('keeps the first value of a setting and hands a lease to one holder at a time', async () => {
      expect(await engine.ensureSetting('callbackSecret', 'one')).toBe('one');
      expect(await engine.ensureSetting('callbackSecret', 'two')).toBe('one');
      const now = Date.now();
      expect(await engine.acquireLease('dispatch', 'node-a', now, 150)).toBe(true);
      expect(await engine.acquireLease('dispatch', 'node-b', now + 10, 150)).toBe(false);
      expect(await engine.acquireLease('dispatch', 'node-a', now + 20, 150)).toBe(true); // renewal
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await engine.acquireLease('dispatch', 'node-b', Date.now(), 10_000)).toBe(true);
      expect(await engine.acquireLease('dispatch', 'node-b', Date.now(), 0)).toBe(true); // given up
      expect(await engine.acquireLease('dispatch', 'node-a', Date.now(), 10_000)).toBe(true);
    });

    it.skipIf(name === 'memory')('keeps jobs, webhooks and settings across a reopen', async () => {
      const record = job({ idempotencyKey: 'persist' });
      await create(engine, record);
      await engine.createWebhook(webhook('wh_keep'));
      await engine.ensureSetting('callbackSecret', 'kept');
      await engine.close();
      engine = fixture.create();
      await engine.open();
      expect(await engine.getJob(record.id)).toEqual({ ...record, offset: 1 });
      expect((await engine.getWebhook('wh_keep'))?.url).toBe('https://example.com/hook');
      expect(await engine.ensureSetting('callbackSecret', 'new')).toBe('kept');
      const repeat = job({ idempotencyKey: 'persist' });
      expect((await create(engine, repeat)).created).toBe(false);
    });
  });
}
