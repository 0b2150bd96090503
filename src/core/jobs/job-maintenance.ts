/**
 * Background upkeep of jobs, all driven by the store so it works after a restart and with several
 * nodes (each step is a compare-and-set: two nodes doing it at once change a job once):
 *
 * - lease expiry: a running job whose lease passed becomes queued again (or failed on its last
 *   attempt). A timer fires at the earliest lease this node handed out, and a periodic scan catches
 *   leases handed out elsewhere or before a restart. (The group redelivers the submission at the
 *   same moment on its own; this step makes the status say so, and fails jobs out of attempts.)
 * - retention: finished jobs older than `retentionMs` are removed with their status topics.
 * - lost submissions: a queued job whose submission message is gone from the queue topic
 *   (retention trimmed it while it waited, or the server stopped between storing the job and
 *   publishing it) gets a fresh submission.
 */
import type { JobRecord } from '../../engines/job-store.js';

export interface MaintenanceOptions {
  now(): number;
  expiredLeases(now: number): Promise<JobRecord[]>;
  expire(job: JobRecord): Promise<void>;
  purgeFinished(before: number): Promise<number>;
  recoverSubmissions(): Promise<void>;
  retentionMs: number;
  /** Scan for expired leases this often (leases from this node also have an exact timer). */
  checkIntervalMs: number;
  purgeIntervalMs: number;
  recoverIntervalMs: number;
  onError(error: unknown, what: string): void;
}

/** Expired leases handled per scan round; a full round is followed by another at once. */
export const EXPIRY_BATCH = 100;

export function createJobMaintenance(options: MaintenanceOptions) {
  const timers: NodeJS.Timeout[] = [];
  /** Leases handed out on this node: job id → end. One timer runs for the earliest. */
  const localLeases = new Map<string, number>();
  let leaseTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  let stopped = false;
  let expiring: Promise<void> | undefined;

  const guarded = (what: string, work: () => Promise<unknown>) => async () => {
    if (stopped) return;
    try {
      await work();
    } catch (error) {
      options.onError(error, what);
    }
  };

  const expireDue = async (): Promise<void> => {
    for (;;) {
      const due = await options.expiredLeases(options.now());
      for (const job of due) await options.expire(job);
      if (due.length < EXPIRY_BATCH || stopped) return;
    }
  };
  /**
   * One scan at a time. A request made during a scan runs another round after it: the running
   * round may have read the store before the lease that prompted the request ran out.
   */
  let again = false;
  const checkLeases = guarded('expire leases', async () => {
    if (expiring) {
      again = true;
      return expiring;
    }
    expiring = (async () => {
      do {
        again = false;
        await expireDue();
      } while (again && !stopped);
    })().finally(() => {
      expiring = undefined;
    });
    await expiring;
  });

  const schedule = (): void => {
    let earliest = Number.POSITIVE_INFINITY;
    for (const at of localLeases.values()) earliest = Math.min(earliest, at);
    if (leaseTimer && leaseTimer.at <= earliest) return;
    if (leaseTimer) clearTimeout(leaseTimer.timer);
    leaseTimer = undefined;
    if (stopped || earliest === Number.POSITIVE_INFINITY) return;
    // +1 ms: a lease is still valid at the very instant it ends.
    const timer = setTimeout(
      () => {
        leaseTimer = undefined;
        const now = options.now();
        for (const [id, at] of localLeases) if (at < now) localLeases.delete(id);
        void checkLeases().finally(schedule);
      },
      Math.max(0, earliest - options.now() + 1),
    );
    timer.unref();
    leaseTimer = { at: earliest, timer };
  };

  const every = (ms: number, work: () => Promise<void>): void => {
    const timer = setInterval(() => void work(), ms);
    timer.unref();
    timers.push(timer);
  };

  return {
    start(): void {
      every(options.checkIntervalMs, checkLeases);
      every(
        options.purgeIntervalMs,
        guarded('remove finished jobs', () => options.purgeFinished(options.now() - options.retentionMs)),
      );
      every(options.recoverIntervalMs, guarded('recover submissions', options.recoverSubmissions));
      void checkLeases(); // leases that ran out while the server was down
    },

    /** A lease of job `id` ending at `at` was handed out or renewed on this node. */
    leaseSet(id: string, at: number): void {
      if (stopped) return;
      localLeases.set(id, at);
      schedule();
    },

    /** The job's lease ended here (finished, failed, requeued): no timer needed for it. */
    leaseCleared(id: string): void {
      localLeases.delete(id);
    },

    checkLeases,

    stop(): void {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      if (leaseTimer) clearTimeout(leaseTimer.timer);
    },
  };
}
