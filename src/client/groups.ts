/**
 * Competing consumers (docs/groups.md). `consume(handler)` acks each message when the handler
 * resolves and nacks it when the handler throws. It is a WebSocket group member while the client's
 * transport is a WebSocket whose server supports group subscribe, and otherwise an HTTP member:
 * long-poll claim, then ack/nack. Either way a named `member` gives stale-lease protection.
 */
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { Emitter } from './emitter.js';
import { isRetryable, isSwitchboardError } from './errors.js';
import type { HttpClient } from './http.js';
import { randomId } from './ids.js';
import { sleep } from './runtime.js';
import type { GroupDelivery, Transport } from './transports/types.js';

export type GroupMessage<T = unknown> = GroupDelivery & { data: T };
export type GroupHandler<T = unknown> = (message: GroupMessage<T>) => unknown;

export interface ConsumeOptions {
  /** Messages handled at once (the WebSocket `window`, the HTTP claim `max`). @default 1 */
  concurrency?: number;
  /** Member name. @default a random one per consumer */
  member?: string;
  /** Lease per delivery (HTTP claims). @default the server's (30 s) */
  leaseMs?: number;
  /** Where a new group starts. @default 'earliest' */
  start?: 'earliest' | 'latest';
  /** How long one HTTP claim is held. @default 25 (s) */
  waitSeconds?: number;
  /** Force a path. @default 'auto' */
  via?: 'auto' | 'websocket' | 'http';
}

export interface ConsumerEvents {
  /** A message was handled and acked (`ok`) or nacked (`error` from the handler). */
  settled: { message: GroupDelivery; ok: boolean; error?: unknown };
  /** A claim, ack or nack failed; the consumer keeps going. */
  error: Error;
}

export interface GroupHost {
  http: HttpClient;
  backoff: BackoffOptions;
  /** The open WebSocket transport, if the client has one now. */
  websocket(): Transport | undefined;
  route(topic: string, group: string, deliver: ((delivery: GroupDelivery) => void) | undefined): void;
}

export class Consumer<T = unknown> extends Emitter<ConsumerEvents> {
  readonly topic: string;
  readonly group: string;
  readonly member: string;
  /** Resolves once the consumer stopped (after `stop()` or a refusal, with its error). */
  readonly closed: Promise<Error | undefined>;
  readonly #host: GroupHost;
  readonly #handler: GroupHandler<T>;
  readonly #options: ConsumeOptions;
  readonly #stop = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #websocketUnsupported = false;

  constructor(
    host: GroupHost,
    topic: string,
    group: string,
    handler: GroupHandler<T>,
    options: ConsumeOptions,
  ) {
    super();
    this.#host = host;
    this.topic = topic;
    this.group = group;
    this.#handler = handler;
    this.#options = options;
    this.member = options.member ?? randomId('sdk-');
    this.closed = this.#run().then(
      () => undefined,
      (error: Error) => error,
    );
  }

  get #concurrency(): number {
    return Math.max(1, this.#options.concurrency ?? 1);
  }

  /** Stops claiming, lets handlers in flight finish (and settle), then resolves. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.closed;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      const via = this.#options.via ?? 'auto';
      const websocket = this.#host.websocket();
      try {
        if (via !== 'http' && websocket?.request !== undefined && !this.#websocketUnsupported) {
          await this.#memberOverWebSocket(websocket);
        } else if (via === 'websocket') {
          await sleep(200, this.#stop.signal); // wait for the client's WebSocket
        } else {
          await this.#claimOverHttp();
        }
        failures = 0;
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        if (!isRetryable(error)) throw error;
        this.emit('error', error as Error);
        await sleep(backoffDelay(failures++, this.#host.backoff), this.#stop.signal);
      }
    }
    await Promise.all(this.#inFlight);
  }

  /** One long-poll claim, its messages handled in parallel, each acked or nacked. */
  async #claimOverHttp(): Promise<void> {
    const wait = this.#options.waitSeconds ?? 25;
    const path = this.#path('claim');
    const answer = await this.#host.http.json<{ messages: GroupDelivery[] }>(path, {
      method: 'POST',
      query: {
        max: this.#concurrency,
        wait,
        member: this.member,
        leaseMs: this.#options.leaseMs,
        start: this.#options.start,
      },
      signal: this.#stop.signal,
      timeoutMs: wait * 1000 + 10_000,
    });
    const settle = async (kind: 'ack' | 'nack', delivery: GroupDelivery, error?: unknown): Promise<void> => {
      const body: Record<string, unknown> = { offsets: [delivery.offset], member: this.member };
      if (kind === 'nack') body.error = describe(error);
      await this.#host.http.json(this.#path(kind), { method: 'POST', body });
    };
    await Promise.all(
      answer.body.messages.map((message) => this.#handle({ ...message, group: this.group }, settle)),
    );
  }

  /** Joins as a WebSocket member until the connection drops or the consumer stops. */
  async #memberOverWebSocket(websocket: Transport): Promise<void> {
    const settle = async (kind: 'ack' | 'nack', delivery: GroupDelivery): Promise<void> => {
      await websocket.request!({
        op: kind,
        topic: this.topic,
        group: this.group,
        offsets: [delivery.offset],
      });
    };
    this.#host.route(this.topic, this.group, (delivery) => {
      const task = this.#handle(delivery, settle);
      this.#inFlight.add(task);
      void task.finally(() => this.#inFlight.delete(task));
    });
    try {
      await websocket.request!({
        op: 'subscribe',
        topic: this.topic,
        group: this.group,
        window: this.#concurrency,
      });
    } catch (error) {
      this.#host.route(this.topic, this.group, undefined);
      // A server without WebSocket groups refuses the op as a bad request: use HTTP from now on.
      if (isSwitchboardError(error) && error.code === 'bad_request') {
        this.#websocketUnsupported = true;
        return;
      }
      throw error;
    }
    const stopped = new Promise<void>((resolve) =>
      this.#stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await Promise.race([websocket.closed, stopped]);
    if (this.#stop.signal.aborted) {
      await Promise.all(this.#inFlight); // settle what we hold before leaving
      await websocket.request!({ op: 'unsubscribe', topic: this.topic, group: this.group }).catch(() => {});
    }
    this.#host.route(this.topic, this.group, undefined);
  }

  async #handle(
    delivery: GroupDelivery,
    settle: (kind: 'ack' | 'nack', delivery: GroupDelivery, error?: unknown) => Promise<void>,
  ): Promise<void> {
    let ok = true;
    let failure: unknown;
    try {
      await this.#handler(delivery as GroupMessage<T>);
    } catch (error) {
      ok = false;
      failure = error;
    }
    try {
      await settle(ok ? 'ack' : 'nack', delivery, failure);
      this.emit('settled', ok ? { message: delivery, ok } : { message: delivery, ok, error: failure });
    } catch (error) {
      // The lease may have passed and the message gone to another member; it is theirs now.
      this.emit('error', error as Error);
    }
  }

  #path(action: string): string {
    return `/v1/topics/${encodeURIComponent(this.topic)}/groups/${encodeURIComponent(this.group)}/${action}`;
  }
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 2_000);
}
