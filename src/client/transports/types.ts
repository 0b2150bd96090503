/**
 * The seam between the client and its transports (engine.io's `Transport`, centrifuge's
 * transports, as one declared interface). A transport carries the client's topic subscriptions
 * over one kind of connection and reports what arrives to a sink; the client owns cursors,
 * fallback, reconnects and backoff. Adding a transport is one file plus one row in `index.ts`.
 */
import type { Message } from '../../protocol/message.js';
import type { ClientOp } from '../../protocol/ws.js';
import type { HttpClient } from '../http.js';
import type { ResumePosition } from '../resume.js';
import type { Runtime } from '../runtime.js';

export type TransportName = 'websocket' | 'sse' | 'longpoll' | 'poll';

/** A consumer-group delivery (WebSocket group members). */
export interface GroupDelivery extends Message {
  group: string;
  attempt: number;
}

/** What a transport reports. Calls for a topic the client no longer has are ignored. */
export interface TransportSink {
  /** The server confirmed where `topic` continues, the log's epoch and its last offset. */
  started(topic: string, after: number, epoch: string | null, last: number): void;
  /** The log's epoch became known (a topic's first publish creates it). */
  epoch(topic: string, epoch: string | null): void;
  message(message: Message): void;
  gap(topic: string, after: number, next: number): void;
  reset(topic: string, epoch: string | null, last: number): void;
  /** The server refused this topic (bad name, forbidden, …): the subscription ends with `error`. */
  refused(topic: string, error: Error): void;
  groupDelivery(delivery: GroupDelivery): void;
  /** A problem worth reporting that did not end the connection. */
  warning(error: Error): void;
}

export interface TransportContext {
  /** `http(s)://host[:port]` without a trailing slash. */
  baseUrl: string;
  runtime: Runtime;
  http: HttpClient;
  /** The token to present when the connection opens. */
  token: string | undefined;
  sink: TransportSink;
  /** Where each subscribed topic resumes from, read at the moment a transport (re)subscribes. */
  position(topic: string): ResumePosition;
  options: TransportOptions;
}

export interface TransportOptions {
  /** How long a long poll is held by the server. @default 25 (s) */
  longPollWaitSeconds: number;
  /** Short-poll period while nothing arrives. @default 1_000 (ms) */
  pollIntervalMs: number;
  /** Opening a connection (WebSocket handshake, first SSE event) may take this long. @default 10_000 (ms) */
  openTimeoutMs: number;
  /** An SSE stream silent this long (no event, no keep-alive comment) is dead. @default 45_000 (ms) */
  sseIdleTimeoutMs: number;
  /** Messages per poll answer. @default 1_000 */
  pollLimit: number;
}

/** An op as the caller builds it: the transport assigns `id`. */
export type OutgoingOp = ClientOp extends infer O
  ? O extends { id: number }
    ? Omit<O, 'id'>
    : never
  : never;

export interface Transport {
  readonly name: TransportName;
  /** Resolves once usable; rejects when this transport cannot be opened (the client tries the next). */
  open(): Promise<void>;
  /** Resolves with the reason once an opened transport stops working (never before `open` resolved). */
  readonly closed: Promise<Error>;
  /** Starts carrying `topic` (idempotent); its resume position is read from the context. */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Bidirectional transports only: sends an op and resolves with its `ok` reply's fields. */
  request?(op: OutgoingOp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Stops everything; `closed` then resolves (if it had opened). */
  close(): void;
}

export interface TransportFactory {
  readonly name: TransportName;
  /** Whether the runtime has what this transport needs (a WebSocket implementation, fetch streaming). */
  isSupported(runtime: Runtime): boolean;
  create(context: TransportContext): Transport;
}
