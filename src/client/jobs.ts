/**
 * Asynchronous jobs (PRODUCT.md "Asynchronous work"): submit, then follow the job's state with
 * long polls on `GET /v1/jobs/{id}?wait&version` until it ends. A handle reports every change
 * (`update`), progress changes (`progress`), and `result()` resolves with the job's result or
 * rejects with a JobFailedError.
 */
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { Emitter } from './emitter.js';
import { isRetryable, JobFailedError } from './errors.js';
import type { HttpClient } from './http.js';
import { randomId } from './ids.js';
import { sleep } from './runtime.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface JobState {
  id: string;
  queue: string;
  status: JobStatus;
  progress: number;
  note?: string;
  result?: unknown;
  error?: unknown;
  attempts: number;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface SubmitOptions {
  callbackUrl?: string;
  callbackSecret?: string;
  /** @default a random key, so a retried submit cannot create the job twice */
  idempotencyKey?: string;
  maxAttempts?: number;
  timeoutMs?: number;
}

export interface JobEvents {
  update: JobState;
  progress: { progress: number; note: string | undefined; job: JobState };
  error: Error;
}

const TERMINAL = new Set<JobStatus>(['succeeded', 'failed', 'canceled']);
const WAIT_SECONDS = 25;

export const isTerminal = (status: JobStatus): boolean => TERMINAL.has(status);

export class JobHandle extends Emitter<JobEvents> {
  readonly id: string;
  #state: JobState | undefined;
  #watching: Promise<JobState> | undefined;
  readonly #jobs: Jobs;

  constructor(jobs: Jobs, id: string, state?: JobState) {
    super();
    this.#jobs = jobs;
    this.id = id;
    this.#state = state;
  }

  /** The last state seen (undefined before the first answer). */
  get state(): JobState | undefined {
    return this.#state;
  }

  /** Resolves with the job's `result` once it succeeded; rejects with JobFailedError if it failed or was canceled. */
  async result(): Promise<unknown> {
    const final = await this.finished();
    if (final.status === 'succeeded') return final.result;
    throw new JobFailedError(
      `job ${final.id} ${final.status}: ${JSON.stringify(final.error ?? null)}`,
      final,
      {
        url: this.#jobs.http.url(`/v1/jobs/${encodeURIComponent(final.id)}`),
        transport: 'http',
      },
    );
  }

  /** Resolves with the terminal state, whatever it is. Starts watching if nobody did yet. */
  finished(): Promise<JobState> {
    this.#watching ??= this.#watch();
    return this.#watching;
  }

  cancel(): Promise<void> {
    return this.#jobs.cancel(this.id);
  }

  async #watch(): Promise<JobState> {
    let failures = 0;
    let state = this.#state;
    if (state !== undefined) this.emit('update', state);
    while (state === undefined || !isTerminal(state.status)) {
      try {
        const query: Record<string, number> =
          state === undefined ? {} : { wait: WAIT_SECONDS, version: state.version };
        const next = await this.#jobs.get(this.id, query);
        failures = 0;
        if (state === undefined || next.version !== state.version) this.#changed(state, next);
        state = next;
      } catch (error) {
        if (!isRetryable(error)) throw error;
        this.emit('error', error as Error);
        await sleep(backoffDelay(failures++, this.#jobs.backoff));
      }
    }
    return state;
  }

  #changed(previous: JobState | undefined, next: JobState): void {
    this.#state = next;
    this.emit('update', next);
    if (previous?.progress !== next.progress) {
      this.emit('progress', { progress: next.progress, note: next.note, job: next });
    }
  }
}

export class Jobs {
  constructor(
    readonly http: HttpClient,
    readonly backoff: BackoffOptions,
    readonly retries: number,
  ) {}

  /** Submits a job; retried safely (with one idempotency key) when the server is busy or unreachable. */
  async submit(queue: string, payload: unknown, options: SubmitOptions = {}): Promise<JobHandle> {
    const body = { ...options, payload, idempotencyKey: options.idempotencyKey ?? randomId('job-') };
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.http.json<{ id: string; queue: string; status: JobStatus }>(
          `/v1/queues/${encodeURIComponent(queue)}/jobs`,
          { method: 'POST', body },
        );
        return new JobHandle(this, answer.body.id);
      } catch (error) {
        if (!isRetryable(error) || attempt >= this.retries) throw error;
        await sleep(backoffDelay(attempt, this.backoff));
      }
    }
  }

  /** A handle for an existing job (e.g. to watch one submitted elsewhere). */
  handle(id: string): JobHandle {
    return new JobHandle(this, id);
  }

  async get(id: string, query: Record<string, number> = {}): Promise<JobState> {
    const wait = query.wait ?? 0;
    const answer = await this.http.json<JobState>(`/v1/jobs/${encodeURIComponent(id)}`, {
      query,
      timeoutMs: wait * 1000 + 10_000,
    });
    return answer.body;
  }

  async cancel(id: string): Promise<void> {
    await this.http.json(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }
}
