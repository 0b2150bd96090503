/** IPC messages between the bench runner and its subscriber worker processes (bench/workers/). */
import type { HistogramData } from './stats.js';

export type Transport = 'ws' | 'sse' | 'longpoll' | 'grpc' | 'mqtt';

/** What a worker does with each delivery. */
export type Measure =
  /** count deliveries only (fan-out throughput: cheapest possible client) */
  | 'count'
  /** also read `bench_t` from the data and record publish → receive latency */
  | 'latency';

export interface OpenCommand {
  type: 'open';
  /** http://host:port of the server under test */
  url: string;
  transport: Transport;
  topic: string;
  connections: number;
  measure: Measure;
  /** Cursor for SSE/WebSocket/long polling; SSE and WebSocket start live without it. */
  after?: number;
  /** How many connections are opened at once. */
  connectConcurrency: number;
  /** JWT for a server run with `--auth token` (`?token=` for WebSocket and SSE). */
  token?: string;
}

export type ParentCommand = OpenCommand | { type: 'reset' } | { type: 'report' } | { type: 'close' };

export interface LostConnection {
  /** WebSocket close code, HTTP status, or 0 for a socket error / end of stream */
  code: number;
  reason: string;
}

export interface WorkerReport {
  type: 'report';
  /** message deliveries since the connections opened */
  total: number;
  /** frames or events that were not messages (gap, reset, unknown) */
  control: number;
  /** long polls answered empty (the wait ran out), and the longest such wait */
  emptyWaits: number;
  maxEmptyWaitMs: number;
  latency: { data: HistogramData; max: number; sum: number };
  lost: LostConnection[];
  errors: string[];
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'opened'; ok: number; failed: number; errors: string[]; unavailable: boolean }
  /** `min`: messages received by this worker's slowest live connection; `total`: all deliveries */
  | { type: 'progress'; min: number; total: number }
  | { type: 'lost'; lost: LostConnection }
  | WorkerReport
  | { type: 'closed' }
  | { type: 'fatal'; error: string };
