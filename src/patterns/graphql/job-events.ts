/**
 * `Subscription.job(id)`: the job's status topic read through the shared feed from its first
 * status, each status message turned into the Job it shows, ending after the terminal status (as
 * `GET /v1/jobs/{id}/events` does). When retention took part of the history (a gap) or the topic
 * was recreated (a reset), the job as stored now stands in for what is missing.
 */
import { jobJson } from '../../core/jobs/job-json.js';
import type { StoredMessage } from '../../engines/engine.js';
import type { JobRecord } from '../../engines/job-store.js';
import { type FeedQueue, isMessage } from './event-queue.js';

/** A job as `GET /v1/jobs/{id}` answers it (parsed), which is what a status message carries. */
export type JobView = Record<string, unknown> & { status: string };

const FINISHED = new Set(['succeeded', 'failed', 'canceled']);

export const jobView = (job: JobRecord): JobView => JSON.parse(jobJson(job)) as JobView;

/** One parse per status message, shared by every subscriber (the feed hands out one object). */
const views = new WeakMap<StoredMessage, JobView>();
function viewOf(message: StoredMessage): JobView {
  let view = views.get(message);
  if (!view) {
    view = JSON.parse(message.data) as JobView;
    views.set(message, view);
  }
  return view;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

export class JobEvents implements AsyncIterableIterator<JobView> {
  #finished = false;

  constructor(
    private readonly queue: FeedQueue,
    private readonly readNow: () => Promise<JobRecord>,
  ) {}

  async next(): Promise<IteratorResult<JobView>> {
    if (this.#finished) return DONE;
    const step = await this.queue.next();
    if (step.done) return DONE;
    const event = step.value;
    const view = isMessage(event) ? viewOf(event) : jobView(await this.readNow());
    if (FINISHED.has(view.status)) {
      this.#finished = true;
      await this.queue.return();
    }
    return { done: false, value: view };
  }

  async return(): Promise<IteratorResult<JobView>> {
    this.#finished = true;
    await this.queue.return();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
