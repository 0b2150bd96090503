/**
 * Long polls on jobs (`GET /v1/jobs/{id}?version=V&wait=S`) and job event streams wait for their
 * job's status topic to grow. One hub listener serves them all; a woken waiter reads the job again
 * (the store is the truth, the signal only says "look").
 */
import type { JobRecord } from '../../engines/job-store.js';
import type { Hub } from '../hub.js';

export class JobWatchers {
  readonly #waiting = new Map<string, Set<() => void>>();
  readonly #stop: () => void;
  #count = 0;

  constructor(hub: Hub) {
    this.#stop = hub.onAppended((topic) => {
      for (const wake of [...(this.#waiting.get(topic) ?? [])]) wake();
    });
  }

  get size(): number {
    return this.#count;
  }

  /** Calls `onChange` on every append to `topic` until the returned function is called. */
  watch(topic: string, onChange: () => void): () => void {
    let set = this.#waiting.get(topic);
    if (!set) {
      set = new Set();
      this.#waiting.set(topic, set);
    }
    set.add(onChange);
    this.#count++;
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      this.#count--;
      set.delete(onChange);
      if (set.size === 0) this.#waiting.delete(topic);
    };
  }

  /**
   * Reads the job until `done` says so, reading again at every append to its status topic, for at
   * most `waitMs`. Watches before the first read, so a change made meanwhile is not missed.
   */
  async waitFor(
    topic: string,
    opts: { read(): Promise<JobRecord>; done(job: JobRecord): boolean; waitMs: number; signal?: AbortSignal },
  ): Promise<JobRecord> {
    let appended = false;
    let wake: (() => void) | undefined;
    const unwatch = this.watch(topic, () => {
      appended = true;
      wake?.();
    });
    const deadline = performance.now() + opts.waitMs;
    try {
      let job = await opts.read();
      while (!opts.done(job) && !opts.signal?.aborted) {
        const remaining = deadline - performance.now();
        if (remaining <= 0) break;
        if (!appended) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(finish, remaining);
            function finish(): void {
              clearTimeout(timer);
              opts.signal?.removeEventListener('abort', finish);
              resolve();
            }
            wake = finish;
            opts.signal?.addEventListener('abort', finish, { once: true });
          });
          wake = undefined;
        }
        appended = false;
        job = await opts.read();
      }
      return job;
    } finally {
      unwatch();
    }
  }

  close(): void {
    this.#stop();
    for (const set of this.#waiting.values()) for (const wake of [...set]) wake();
  }
}
