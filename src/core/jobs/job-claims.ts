/**
 * Workers' claims: a job claim is a consumer-group claim of one submission on the queue's topic
 * (`jobs.<queue>`, group `workers`), so it long-polls, wakes on submits and on expired leases, and
 * hands each submission to one worker, exactly as group claims do. What the job layer adds:
 *
 * - the job's own lease: the submission is claimed with a group lease of the default job timeout,
 *   the job is marked running with a fresh lease token (`job.lease`, lasting its `timeoutMs`), and
 *   when the two ends differ the group entry is held until the job's (a nack with that delay), so
 *   the group redelivers the job exactly when its lease runs out — and every progress report
 *   moves that moment;
 * - skipping what is not a job to run: a finished or unknown job's submission is acked, a job held
 *   by another worker (after a crash between those steps) is held again until its lease ends, and a
 *   job out of attempts is failed.
 */
import type { GroupDelivery } from '../../engines/group-store.js';
import type { JobRecord } from '../../engines/job-store.js';
import type { Hub } from '../hub.js';
import { submissionJobId } from './job-json.js';
import { assertQueue, GROUP_MAX_ATTEMPTS, newLease, queueTopic, WORKERS_GROUP } from './job-rules.js';
import type { JobState } from './job-state.js';
import { release, start } from './transitions.js';

/** How far the group's redelivery time may be from the job's lease end (clock steps between them). */
const LEASE_SLACK_MS = 1_000;

export interface ClaimedJob {
  job: JobRecord;
  lease: string;
}

export interface JobClaimsOptions {
  hub: Hub;
  state: JobState;
  /** Group lease of a claimed submission; the job's own lease then decides (see above). */
  handshakeMs: number;
  /** A lease was handed out or renewed: expiry must be checked at `at`. */
  leaseSet(id: string, at: number): void;
  /** A job reached a terminal status here (callbacks). */
  finished(job: JobRecord): Promise<void>;
}

export function createJobClaims(options: JobClaimsOptions) {
  const { hub, state, handshakeMs } = options;
  const ensured = new Set<string>();

  /** The job layer counts attempts per job, so the group's own limit must never be the one reached. */
  const ensureGroup = async (topic: string): Promise<void> => {
    if (ensured.has(topic)) return;
    await hub.internal.groups.ensure(topic, WORKERS_GROUP, { maxAttempts: GROUP_MAX_ATTEMPTS });
    ensured.add(topic);
  };

  const ackQuietly = (topic: string, offset: number, member: string) =>
    hub.internal.groups.ack(topic, WORKERS_GROUP, [offset], { member }).then(
      () => undefined,
      () => undefined,
    );

  /** Turns one group delivery into a running job, or settles it and answers undefined. */
  const startDelivery = async (
    topic: string,
    delivery: GroupDelivery,
    member: string,
    signal: AbortSignal | undefined,
  ): Promise<ClaimedJob | undefined> => {
    const { offset, data } = delivery.message;
    const id = submissionJobId(data);
    if (!id) {
      await ackQuietly(topic, offset, member); // published on the queue topic by hand: not a job
      return undefined;
    }
    const lease = newLease();
    const applied = await state.apply(id, (job) => start(job, lease, offset, state.now()));
    if (applied.kind === 'missing' || applied.kind === 'unchanged') {
      await ackQuietly(topic, offset, member);
      return undefined;
    }
    if (applied.kind === 'refused') {
      const { refusal, job } = applied;
      if (refusal.kind === 'busy') await state.group.holdUntil({ ...job, offset }, refusal.until, member);
      else await ackQuietly(topic, offset, member);
      return undefined;
    }
    const { job } = applied;
    if (job.status !== 'running') {
      await ackQuietly(topic, offset, member); // out of attempts: failed
      await options.finished(job);
      return undefined;
    }
    // The group redelivers the submission when the job's lease ends. The claim's lease is the
    // default job timeout, so for most jobs the two already agree and no extra write is needed.
    const leaseEnd = job.leaseExpiresAt ?? 0;
    if (Math.abs(leaseEnd - delivery.leaseExpiresAt) > LEASE_SLACK_MS) {
      await state.group.holdUntil(job, leaseEnd, member);
    }
    options.leaseSet(job.id, job.leaseExpiresAt ?? 0);
    if (signal?.aborted) {
      // The worker left while the job was being started: hand it back at once, uncounted.
      const back = await state.apply(id, (current) => release(current, lease, state.now()));
      if (back.kind === 'changed') await state.group.holdUntil(back.job, 0);
      return undefined;
    }
    return { job, lease };
  };

  return {
    /** Long-poll claim of one job: null when nothing came within `waitMs`. */
    async claim(queue: unknown, opts: { waitMs?: number; signal?: AbortSignal } = {}) {
      const topic = queueTopic(assertQueue(queue));
      await ensureGroup(topic);
      const deadline = performance.now() + (opts.waitMs ?? 0);
      for (;;) {
        const waitMs = Math.max(0, Math.floor(deadline - performance.now()));
        const answer = await hub.internal.groups.claim(topic, WORKERS_GROUP, {
          max: 1,
          waitMs,
          leaseMs: handshakeMs,
          maxAttempts: GROUP_MAX_ATTEMPTS,
          signal: opts.signal,
        });
        const delivery = answer.deliveries[0];
        if (!delivery) return null;
        const claimed = await startDelivery(topic, delivery, answer.member, opts.signal);
        if (claimed) return claimed;
        if (opts.signal?.aborted) return null;
      }
    },
  };
}
