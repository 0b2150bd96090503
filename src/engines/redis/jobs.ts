/**
 * Jobs on Redis. Key layout (beside the engine's own, same prefix):
 *
 *   <prefix>:job:<id>            hash   p (payload), r (the other fields as JSON), v (revision)
 *   <prefix>:job-keys:<queue>    hash   idempotency key → job id
 *   <prefix>:job-leases          zset   running job ids by lease end
 *   <prefix>:job-finished        zset   terminal job ids by finish time
 *   <prefix>:job-active:<queue>  zset   queued and running job ids by creation time
 *   <prefix>:job-queued:<queue>  zset   queued job ids by submission offset (0: not yet known)
 *   <prefix>:job-queues          set    queues with active jobs
 *
 * Every write is one script (job-scripts.ts) that also appends the status message, so all nodes
 * see a job's state and its status topic change together. These keys carry no hash tag: like the
 * engine's topic set, they assume one Redis (see docs/scaling.md for Cluster).
 */

import type { JobCount, JobRecord, JobStatus, JobStatusMessage, JobStore } from '../job-store.js';
import type { RedisClient } from './connection.js';
import type { TopicDirectory } from './directory.js';
import { JOB_SCRIPTS, JOB_WRITE_SCRIPT } from './job-scripts.js';
import type { KeyLayout } from './keys.js';
import type { RedisCall } from './replicas.js';
import { defineScripts, runScript } from './scripts/define.js';

export interface RedisJobAccess {
  keys: KeyLayout;
  nodeId: string;
  /** Runs one Redis operation, turning failures into 503s (see index.ts). */
  call: RedisCall;
  /** Lists a topic before a script may create its log (directory.ts). */
  directory: TopicDirectory;
  newEpoch(): string;
  /** Wakes this node's readers of a status topic that grew (other nodes hear the PUBLISH). */
  emitAppended(topic: string, last: number): void;
}

type StoredFields = Omit<JobRecord, 'payload'>;

/** Defines the job and webhook scripts on a connection once (the engine defines its own). */
const defined = new WeakSet<RedisClient>();
export function withJobScripts(redis: RedisClient): RedisClient {
  if (!defined.has(redis)) {
    defineScripts(redis, JOB_SCRIPTS);
    defined.add(redis);
  }
  return redis;
}

export function createRedisJobStore(access: RedisJobAccess): JobStore {
  const { keys, call } = access;
  const p = keys.prefix;
  const jobKey = (id: string) => `${p}:job:${id}`;
  const queueKeys = (queue: string) => ({
    counts: `${p}:job-counts:${queue}`,
    idem: `${p}:job-keys:${queue}`,
    active: `${p}:job-active:${queue}`,
    queued: `${p}:job-queued:${queue}`,
  });
  const leases = `${p}:job-leases`;
  const finished = `${p}:job-finished`;
  /** Every queue that has a job-counts hash (queues with only finished jobs too). */
  const countedQueues = `${p}:job-counted-queues`;
  const queues = `${p}:job-queues`;

  const toRecord = (payload: string, record: string): JobRecord => ({
    ...(JSON.parse(record) as StoredFields),
    payload,
  });
  const storedFields = (job: JobRecord): string => {
    const { payload: _payload, ...fields } = job;
    return JSON.stringify(fields);
  };

  const readJobs = async (r: RedisClient, ids: string[]): Promise<JobRecord[]> => {
    if (ids.length === 0) return [];
    const pipeline = r.pipeline();
    for (const id of ids) pipeline.hmget(jobKey(id), 'p', 'r');
    const replies = (await pipeline.exec()) ?? [];
    const jobs: JobRecord[] = [];
    for (const [error, fields] of replies) {
      if (error) throw error;
      const [payload, record] = fields as Array<string | null>;
      if (payload != null && record != null) jobs.push(toRecord(payload, record));
    }
    return jobs;
  };

  const write = (
    mode: 'create' | 'update',
    job: JobRecord,
    expectedRevision: number,
    status: JobStatusMessage | null,
    submission?: JobStatusMessage,
  ) => {
    const q = queueKeys(job.queue);
    const queueTopic = submission?.topic ?? `jobs.${job.queue}`;
    const t = keys.topic(status?.topic ?? queueTopic);
    const s = keys.topic(queueTopic);
    return call(
      `${mode === 'create' ? 'store' : 'update'} the job`,
      async (r) => {
        await access.directory.ensure(r, queueTopic);
        if (status) await access.directory.ensure(r, status.topic);
        return runScript(
          withJobScripts(r),
          JOB_WRITE_SCRIPT,
          [
            ...[jobKey(job.id), q.idem, leases, finished, q.active, q.queued, queues],
            ...[t.meta, t.log, t.dedupe, t.dedupeTimes, t.meta], // 12th: was the topic set (directory.ts)
            ...[s.meta, s.log, s.dedupe, s.dedupeTimes],
            ...[q.counts, countedQueues],
          ],
          [
            mode,
            job.id,
            expectedRevision,
            job.revision,
            storedFields(job),
            job.payload,
            job.idempotencyKey ?? '',
            job.queue,
            job.status,
            job.leaseExpiresAt ?? '',
            job.finishedAt ?? '',
            job.offset ?? '',
            job.createdAt,
            status ? '1' : '0',
            status?.topic ?? '',
            access.newEpoch(),
            status?.now ?? 0,
            status?.dedupeWindowMs ?? 0,
            status?.retention.maxCount ?? 0,
            keys.appendedChannel,
            access.nodeId,
            status?.event ?? '',
            status?.data ?? '',
            submission ? '1' : '0',
            queueTopic,
            submission?.retention.maxCount ?? 0,
            submission?.dedupeWindowMs ?? 0,
            submission?.event ?? '',
            submission?.data ?? '',
            access.newEpoch(),
          ],
        );
      },
      // The job's creation or state change is acknowledged to a client (or a worker).
      { replicated: true },
    );
  };

  /** The script PUBLISHes to other nodes; this node wakes its own readers of the status topic. */
  const wakeLocally = (status: JobStatusMessage | null, last: string | undefined): void => {
    if (status && last) access.emitAppended(status.topic, Number(last));
  };

  const store: JobStore = {
    async createJob({ job, submission, status }) {
      const created = { ...job, offset: null };
      const reply = (await write('create', created, 0, status, submission)) as [number, string, string];
      if (reply[0] === 1) {
        wakeLocally(status, reply[1]);
        wakeLocally(submission, reply[2]); // the queue topic grew to the submission's offset
        return { job: { ...created, offset: Number(reply[2]) }, created: true };
      }
      const existing = await store.getJob(String(reply[1]));
      if (!existing) throw new Error(`job ${reply[1]} vanished while its idempotency key was read`);
      return { job: existing, created: false };
    },

    getJob: (id) =>
      call('read the job', async (r) => {
        const [payload, record] = await r.hmget(jobKey(id), 'p', 'r');
        return payload != null && record != null ? toRecord(payload, record) : null;
      }),

    async updateJob({ job, expectedRevision, status }) {
      const reply = (await write('update', job, expectedRevision, status)) as [number, string];
      if (reply[0] === 1) wakeLocally(status, reply[1]);
      return reply[0] === 1;
    },

    async deleteJob(id) {
      const job = await store.getJob(id);
      if (!job) return false;
      const q = queueKeys(job.queue);
      await call('delete the job', async (r) => {
        const multi = r.multi().del(jobKey(id)).zrem(leases, id).zrem(finished, id).zrem(q.active, id);
        multi.zrem(q.queued, id);
        multi.hincrby(q.counts, job.status, -1);
        if (job.idempotencyKey !== null) multi.hdel(q.idem, job.idempotencyKey);
        await multi.exec();
      });
      return true;
    },

    expiredLeases: (now, limit) =>
      call('read expired leases', async (r) =>
        readJobs(r, await r.zrangebyscore(leases, '-inf', now, 'LIMIT', 0, limit)),
      ),
    finishedBefore: (time, limit) =>
      call('read finished jobs', async (r) =>
        readJobs(r, await r.zrangebyscore(finished, '-inf', `(${time}`, 'LIMIT', 0, limit)),
      ),
    countJobs: () =>
      call('count jobs', async (r) => {
        const counted: JobCount[] = [];
        for (const queue of await r.smembers(countedQueues)) {
          const byStatus = await r.hgetall(queueKeys(queue).counts);
          for (const [status, count] of Object.entries(byStatus)) {
            if (Number(count) > 0) counted.push({ queue, status: status as JobStatus, count: Number(count) });
          }
        }
        return counted;
      }),
    activeQueues: () => call('list job queues', async (r) => (await r.smembers(queues)).sort()),
    queuedThrough: (queue, offset, limit) =>
      call('read queued jobs', async (r) => {
        const jobs = await readJobs(
          r,
          await r.zrangebyscore(queueKeys(queue).queued, '-inf', offset, 'LIMIT', 0, limit),
        );
        return jobs.sort((a, b) => a.createdAt - b.createdAt);
      }),
  };
  return store;
}
