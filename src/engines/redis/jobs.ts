/**
 * Jobs on Redis. Every key of a queue carries the queue topic's hash tag, `{jobs.<queue>}` (Q below),
 * which its status topics `jobs.<queue>.<id>` share (keys.ts), so a job write — the record, its
 * indexes, the submission on the queue topic and the status message — is one script on one slot in
 * Redis Cluster:
 *
 *   <prefix>:{jobs.Q}:job:<id>        hash   p (payload), r (the other fields as JSON), v (revision)
 *   <prefix>:{jobs.Q}:job-keys        hash   idempotency key → job id
 *   <prefix>:{jobs.Q}:job-leases      zset   running job ids by lease end
 *   <prefix>:{jobs.Q}:job-finished    zset   terminal job ids by finish time
 *   <prefix>:{jobs.Q}:job-active      zset   queued and running job ids by creation time
 *   <prefix>:{jobs.Q}:job-queued      zset   queued job ids by submission offset (0: not yet known)
 *   <prefix>:{jobs.Q}:job-counts      hash   status → jobs
 *   <prefix>:{jobs}:queues            set    every queue that ever had a job (sweeps iterate it)
 *   <prefix>:job-queue:<id>           string the queue of job <id> (a lookup by id alone)
 *
 * The two keys outside the queue's slot are written before the job's script, idempotently (so a
 * node dying in between leaves an extra name or lookup, never a job nobody can find), and the
 * queue set is cached per node like the topic directory (directory.ts).
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
  const queueKeys = (queue: string) => {
    const q = keys.tag(`jobs.${queue}`);
    return {
      job: (id: string) => `${q}:job:${id}`,
      counts: `${q}:job-counts`,
      idem: `${q}:job-keys`,
      active: `${q}:job-active`,
      queued: `${q}:job-queued`,
      leases: `${q}:job-leases`,
      finished: `${q}:job-finished`,
    };
  };
  const queues = `${keys.family('jobs')}:queues`;
  const queueOf = (id: string) => `${keys.prefix}:job-queue:${id}`;
  const knownQueues = new Set<string>();
  const ensureQueue = async (r: RedisClient, queue: string): Promise<void> => {
    if (knownQueues.has(queue)) return;
    await r.sadd(queues, queue);
    if (knownQueues.size >= 10_000) knownQueues.clear();
    knownQueues.add(queue);
  };

  /** `limit` ids of every queue's `index` zset scored up to `max`, lowest score first. */
  const acrossQueues = async (
    r: RedisClient,
    index: 'leases' | 'finished',
    max: string,
    limit: number,
  ): Promise<Array<{ queue: string; id: string }>> => {
    const names = await r.smembers(queues);
    const perQueue = await Promise.all(
      names.map((queue) =>
        r.zrangebyscore(queueKeys(queue)[index], '-inf', max, 'WITHSCORES', 'LIMIT', 0, limit),
      ),
    );
    const found: Array<{ queue: string; id: string; score: number }> = [];
    names.forEach((queue, i) => {
      const flat = perQueue[i] ?? [];
      for (let j = 0; j < flat.length; j += 2) {
        found.push({ queue, id: flat[j] as string, score: Number(flat[j + 1]) });
      }
    });
    return found.sort((a, b) => a.score - b.score).slice(0, limit);
  };

  const toRecord = (payload: string, record: string): JobRecord => ({
    ...(JSON.parse(record) as StoredFields),
    payload,
  });
  const storedFields = (job: JobRecord): string => {
    const { payload: _payload, ...fields } = job;
    return JSON.stringify(fields);
  };

  const readJobs = async (
    r: RedisClient,
    ids: Array<{ queue: string; id: string }>,
  ): Promise<JobRecord[]> => {
    const replies = await Promise.all(
      ids.map(({ queue, id }) => r.hmget(queueKeys(queue).job(id), 'p', 'r')),
    );
    const jobs: JobRecord[] = [];
    for (const [payload, record] of replies) {
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
        if (mode === 'create') {
          await ensureQueue(r, job.queue);
          await r.set(queueOf(job.id), job.queue);
        }
        return runScript(
          withJobScripts(r),
          JOB_WRITE_SCRIPT,
          [
            ...[q.job(job.id), q.idem, q.leases, q.finished, q.active, q.queued],
            ...[t.meta, t.log, t.dedupe, t.dedupeTimes],
            ...[s.meta, s.log, s.dedupe, s.dedupeTimes],
            q.counts,
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
      // An idempotent repeat: the new id's lookup is not needed (best effort; it names a queue only).
      await call('forget the lookup', (r) => r.del(queueOf(created.id))).catch(() => {});
      const existing = await store.getJob(String(reply[1]));
      if (!existing) throw new Error(`job ${reply[1]} vanished while its idempotency key was read`);
      return { job: existing, created: false };
    },

    getJob: (id) =>
      call('read the job', async (r) => {
        const queue = await r.get(queueOf(id));
        if (queue === null) return null;
        const [payload, record] = await r.hmget(queueKeys(queue).job(id), 'p', 'r');
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
        // One slot (the queue's tag): a MULTI is allowed in a Cluster too.
        const multi = r.multi().del(q.job(id)).zrem(q.leases, id).zrem(q.finished, id).zrem(q.active, id);
        multi.zrem(q.queued, id);
        multi.hincrby(q.counts, job.status, -1);
        if (job.idempotencyKey !== null) multi.hdel(q.idem, job.idempotencyKey);
        await multi.exec();
        await r.del(queueOf(id));
      });
      return true;
    },

    expiredLeases: (now, limit) =>
      call('read expired leases', async (r) =>
        readJobs(r, await acrossQueues(r, 'leases', String(now), limit)),
      ),
    finishedBefore: (time, limit) =>
      call('read finished jobs', async (r) =>
        readJobs(r, await acrossQueues(r, 'finished', `(${time}`, limit)),
      ),
    countJobs: () =>
      call('count jobs', async (r) => {
        const names = await r.smembers(queues);
        const all = await Promise.all(names.map((queue) => r.hgetall(queueKeys(queue).counts)));
        const counted: JobCount[] = [];
        names.forEach((queue, i) => {
          for (const [status, count] of Object.entries(all[i] ?? {})) {
            if (Number(count) > 0) counted.push({ queue, status: status as JobStatus, count: Number(count) });
          }
        });
        return counted;
      }),
    activeQueues: () =>
      call('list job queues', async (r) => {
        const names = await r.smembers(queues);
        const sizes = await Promise.all(names.map((queue) => r.zcard(queueKeys(queue).active)));
        return names.filter((_, i) => (sizes[i] ?? 0) > 0).sort();
      }),
    queuedThrough: (queue, offset, limit) =>
      call('read queued jobs', async (r) => {
        const ids = await r.zrangebyscore(queueKeys(queue).queued, '-inf', offset, 'LIMIT', 0, limit);
        const jobs = await readJobs(
          r,
          ids.map((id) => ({ queue, id })),
        );
        return jobs.sort((a, b) => a.createdAt - b.createdAt);
      }),
  };
  return store;
}
