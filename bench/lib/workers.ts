/**
 * Subscriber worker processes seen from the runner: fork them, open their connections, follow the
 * slowest subscriber's progress (for the publisher's window), collect counts and latency histograms.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  LostConnection,
  Measure,
  ParentCommand,
  Transport,
  WorkerMessage,
  WorkerReport,
} from './protocol.js';
import { Histogram } from './stats.js';

const WORKER = fileURLToPath(new URL('../workers/subscriber.ts', import.meta.url));

interface WorkerState {
  child: ChildProcess;
  connections: number;
  min: number;
  total: number;
  waiters: Array<{ type: string; resolve: (message: WorkerMessage) => void }>;
}

export interface SubscriberGroupOptions {
  url: string;
  /** Worker i connects to `urls[i % urls.length]` instead of `url` (subscribers spread over nodes). */
  urls?: string[];
  transport: Transport;
  topic: string;
  connections: number;
  /** worker processes (1–2 on this machine) */
  workers: number;
  measure: Measure;
  after?: number;
  connectConcurrency?: number;
  /** JWT for a server run with `--auth token` (subscribers send it as `?token=`). */
  token?: string;
}

export interface OpenResult {
  ok: number;
  failed: number;
  unavailable: boolean;
  errors: string[];
}

export interface GroupReport {
  total: number;
  control: number;
  emptyWaits: number;
  maxEmptyWaitMs: number;
  latency: Histogram;
  lost: LostConnection[];
  errors: string[];
}

export class SubscriberGroup {
  readonly #workers: WorkerState[];
  readonly #listeners = new Set<() => void>();
  readonly lost: LostConnection[] = [];
  readonly fatal: string[] = [];

  private constructor(workers: WorkerState[]) {
    this.#workers = workers;
  }

  /** Forks the workers and opens every connection; check `opened.unavailable` before using the group. */
  static async start(
    options: SubscriberGroupOptions,
  ): Promise<{ group: SubscriberGroup; opened: OpenResult }> {
    const per = Math.ceil(options.connections / options.workers);
    const states: WorkerState[] = [];
    for (let i = 0; i < options.workers; i++) {
      const connections = Math.min(per, options.connections - i * per);
      if (connections <= 0) break;
      const child = fork(WORKER, [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      states.push({ child, connections, min: 0, total: 0, waiters: [] });
    }
    const group = new SubscriberGroup(states);
    for (const state of states) group.#attach(state);
    await Promise.all(states.map((state) => group.#next(state, 'ready', 30_000)));
    const answers = await Promise.all(
      states.map((state, index) => {
        const waiting = group.#next(state, 'opened', 120_000);
        group.#send(state, {
          type: 'open',
          url: options.urls?.length ? options.urls[index % options.urls.length]! : options.url,
          transport: options.transport,
          topic: options.topic,
          connections: state.connections,
          measure: options.measure,
          ...(options.after === undefined ? {} : { after: options.after }),
          connectConcurrency: options.connectConcurrency ?? 100,
          ...(options.token === undefined ? {} : { token: options.token }),
        });
        return waiting;
      }),
    );
    const opened: OpenResult = { ok: 0, failed: 0, unavailable: false, errors: [] };
    for (const answer of answers) {
      if (answer.type !== 'opened') continue;
      opened.ok += answer.ok;
      opened.failed += answer.failed;
      opened.unavailable ||= answer.unavailable;
      for (const error of answer.errors) if (!opened.errors.includes(error)) opened.errors.push(error);
    }
    return { group, opened };
  }

  get pids(): number[] {
    return this.#workers.map((state) => state.child.pid!);
  }

  /** Messages received by the slowest live subscriber. */
  get min(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const state of this.#workers) min = Math.min(min, state.min);
    return min;
  }

  /** Deliveries so far (as of each worker's last progress message, at most one loop turn old). */
  get total(): number {
    let total = 0;
    for (const state of this.#workers) total += state.total;
    return total;
  }

  /** Calls `listener` on every progress message; returns the function that removes it. */
  onProgress(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Forgets the latency samples so far (after a warm-up). */
  resetLatency(): void {
    for (const state of this.#workers) this.#send(state, { type: 'reset' });
  }

  async report(): Promise<GroupReport> {
    const reports = await Promise.all(
      this.#workers.map((state) => {
        const waiting = this.#next(state, 'report', 30_000);
        this.#send(state, { type: 'report' });
        return waiting as Promise<WorkerReport>;
      }),
    );
    const latency = new Histogram();
    const result: GroupReport = {
      total: 0,
      control: 0,
      emptyWaits: 0,
      maxEmptyWaitMs: 0,
      latency,
      lost: [],
      errors: [...this.fatal],
    };
    for (const report of reports) {
      result.total += report.total;
      result.control += report.control;
      result.emptyWaits += report.emptyWaits;
      result.maxEmptyWaitMs = Math.max(result.maxEmptyWaitMs, report.maxEmptyWaitMs);
      latency.merge(report.latency.data, report.latency.max, report.latency.sum);
      result.lost.push(...report.lost);
      result.errors.push(...report.errors);
    }
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#workers.map(async (state) => {
        if (state.child.exitCode !== null) return;
        const exited = new Promise((resolve) => state.child.once('exit', resolve));
        this.#send(state, { type: 'close' });
        const timer = setTimeout(() => state.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  #attach(state: WorkerState): void {
    state.child.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') {
        state.min = message.min;
        state.total = message.total;
        for (const listener of this.#listeners) listener();
        return;
      }
      if (message.type === 'lost') {
        if (this.lost.length < 1000) this.lost.push(message.lost);
        return;
      }
      if (message.type === 'fatal') this.fatal.push(message.error);
      const index = state.waiters.findIndex((waiter) => waiter.type === message.type);
      if (index !== -1) state.waiters.splice(index, 1)[0]!.resolve(message);
    });
    state.child.on('exit', (code) => {
      if (code !== 0) this.fatal.push(`subscriber worker ${state.child.pid} exited with code ${code}`);
      state.min = Number.POSITIVE_INFINITY;
      for (const waiter of state.waiters.splice(0)) waiter.resolve({ type: 'fatal', error: 'worker exited' });
      for (const listener of this.#listeners) listener();
    });
  }

  #send(state: WorkerState, command: ParentCommand): void {
    if (state.child.connected) state.child.send(command);
  }

  #next(state: WorkerState, type: WorkerMessage['type'], timeoutMs: number): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker sent no "${type}" in ${timeoutMs} ms`)),
        timeoutMs,
      );
      state.waiters.push({
        type,
        resolve: (message) => {
          clearTimeout(timer);
          if (message.type === 'fatal') reject(new Error(`subscriber worker failed: ${message.error}`));
          else resolve(message);
        },
      });
    });
  }
}

/** Summarizes lost connections as "12 × 4001 slow consumer; 3 × 1006" for the report. */
export function describeLost(lost: LostConnection[]): string {
  const counts = new Map<string, number>();
  for (const { code, reason } of lost) {
    const key = `${code}${reason ? ` ${reason}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${count} × ${key}`).join('; ');
}
