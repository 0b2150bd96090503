/**
 * The Switchboard client: one object per server that subscribes, publishes, fetches, consumes
 * groups and submits jobs, over whichever transport of the table opens first. Subscriptions keep
 * their cursor across reconnects and transport changes (see resume.ts); publishes carry an
 * idempotency key so a retry can never append twice.
 */
import { SwitchboardError } from '../protocol/errors.js';
import {
  EVENT_RULE,
  type FetchAnswer,
  isValidEvent,
  isValidTopic,
  type Message,
  type PublishAnswer,
  TOPIC_RULE,
} from '../protocol/message.js';
import type { ScheduledAnswer, ScheduledMessageView } from '../protocol/schedule.js';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { Connection, type ConnectionState, type StateEvent } from './connection.js';
import { Emitter } from './emitter.js';
import { ConnectionClosedError, isRetryable, TransportError } from './errors.js';
import { type ConsumeOptions, Consumer, type GroupHandler } from './groups.js';
import { HttpClient } from './http.js';
import { randomId } from './ids.js';
import { Jobs } from './jobs.js';
import { Push } from './push.js';
import {
  answerRequest,
  type RequestAnswer,
  type RequestHandler,
  type RequestOptions,
  type Responder,
  type RespondOptions,
  sendRequest,
} from './requests.js';
import { type RuntimeOptions, resolveRuntime, sleep, type WebSocketConstructor } from './runtime.js';
import { cancelScheduled, listScheduled } from './schedules.js';
import { type SubscribeOptions, Subscription } from './subscription.js';
import { type GetToken, TokenSource } from './tokens.js';
import { DEFAULT_TRANSPORTS, TRANSPORTS } from './transports/index.js';
import type { GroupDelivery, TransportName, TransportOptions, TransportSink } from './transports/types.js';
import { fetchAnswerProblem } from './validate.js';

export interface ConnectOptions extends RuntimeOptions, Partial<TransportOptions> {
  /** Bearer token (JWT) for servers run with `--auth token`. */
  token?: string;
  /** Called for a token at connect time and again after a 401 / close 4401 (token refresh). */
  getToken?: GetToken;
  /** Transports to try, in order; one name forces it. @default ['websocket','sse','longpoll','poll'] */
  transports?: TransportName | readonly TransportName[];
  /** Reconnect delays. @default { minDelayMs: 250, maxDelayMs: 10_000 } */
  reconnect?: Partial<BackoffOptions>;
  /** Timeout of one HTTP request (publish, fetch, acks). @default 10_000 (ms) */
  timeoutMs?: number;
  /** Retries of a publish or job submit that failed in a retryable way. @default 5 */
  publishRetries?: number;
}

export interface PublishOptions {
  event?: string;
  /** @default a random key per publish call, reused by its retries */
  idempotencyKey?: string;
  /** Delayed delivery: append it this many ms from now (at most 30 days); answers a `ScheduledAnswer`. */
  delayMs?: number;
  /** Delayed delivery: append it at this time (ms epoch); answers a `ScheduledAnswer`. */
  deliverAt?: number;
}

/** Publish options that schedule the message (docs/delayed.md). */
export type DelayedPublishOptions = PublishOptions & ({ delayMs: number } | { deliverAt: number });

export interface ClientEvents {
  state: StateEvent;
  /** Failures the client handles itself (it reconnects or retries); for logs and dashboards. */
  error: Error;
  /** Oddities that changed nothing (an unknown frame, an unexpected reply). */
  warning: Error;
}

const DEFAULT_TRANSPORT_OPTIONS: TransportOptions = {
  longPollWaitSeconds: 25,
  pollIntervalMs: 1_000,
  openTimeoutMs: 10_000,
  sseIdleTimeoutMs: 45_000,
  pollLimit: 1_000,
};

export class SwitchboardClient extends Emitter<ClientEvents> {
  /** Base URL (`http(s)://host:port`). */
  readonly url: string;
  readonly jobs: Jobs;
  /** Web Push notifications for a service worker registration (browsers). */
  readonly push: Push;
  readonly #http: HttpClient;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #groupRoutes = new Map<string, (delivery: GroupDelivery) => void>();
  readonly #connection: Connection;
  readonly #backoff: BackoffOptions;
  readonly #publishRetries: number;
  #state: StateEvent = { state: 'connecting', transport: undefined };

  constructor(
    url: string,
    options: ConnectOptions,
    loadWebSocket?: () => Promise<WebSocketConstructor | undefined>,
  ) {
    super();
    this.url = baseUrlOf(url);
    const runtime = resolveRuntime(options, loadWebSocket);
    runtime.catch(() => {}); // reported by the connection loop
    const tokens = new TokenSource(options.token, options.getToken);
    const fetchLater: RuntimeOptions['fetch'] = async (input, init) => (await runtime).fetch(input, init);
    this.#http = new HttpClient(this.url, fetchLater, tokens, options.timeoutMs ?? 10_000);
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.reconnect };
    this.#publishRetries = options.publishRetries ?? 5;
    this.jobs = new Jobs(this.#http, this.#backoff, this.#publishRetries);
    this.push = new Push(this.#http);
    const names =
      typeof options.transports === 'string'
        ? [options.transports]
        : (options.transports ?? DEFAULT_TRANSPORTS);
    const order = names.map((name) => {
      const factory = TRANSPORTS[name];
      if (factory === undefined)
        throw new SwitchboardError(
          'bad_request',
          `unknown transport "${name}"; use ${DEFAULT_TRANSPORTS.join(', ')}`,
        );
      return factory;
    });
    const transportOptions: TransportOptions = { ...DEFAULT_TRANSPORT_OPTIONS };
    for (const key of Object.keys(DEFAULT_TRANSPORT_OPTIONS) as Array<keyof TransportOptions>) {
      if (options[key] !== undefined) transportOptions[key] = options[key];
    }
    this.#connection = new Connection({
      baseUrl: this.url,
      runtime: runtime.then((resolved) => {
        if (order.length === 1 && order[0]!.name === 'websocket' && resolved.WebSocket === undefined) {
          throw new SwitchboardError(
            'bad_request',
            'transports: ["websocket"] needs a WebSocket implementation: pass connect(url, { WebSocket }) (in Node 20: `import { WebSocket } from "ws"`)',
          );
        }
        return resolved;
      }),
      http: this.#http,
      tokens,
      order,
      backoff: this.#backoff,
      options: transportOptions,
      sink: this.#sink(),
      topics: () => this.#subscriptions.keys(),
      position: (topic) =>
        this.#subscriptions.get(topic)?.position() ?? { after: undefined, epoch: undefined },
      onState: (event) => {
        this.#state = event;
        this.emit('state', event);
      },
      onError: (error) => this.emit('error', error),
    });
  }

  get state(): ConnectionState {
    return this.#state.state;
  }

  /** The transport in use, once open. */
  get transport(): TransportName | undefined {
    return this.#connection.transport?.name;
  }

  /** Resolves once a transport is open. */
  ready(): Promise<void> {
    return this.#connection.opened();
  }

  subscribe<T = unknown>(topic: string, options: SubscribeOptions<T> = {}): Subscription<T> {
    this.#assertOpen();
    assertTopic(topic);
    if (options.after !== undefined && !(Number.isSafeInteger(options.after) && options.after >= 0)) {
      throw new SwitchboardError('bad_request', `after must be a whole number >= 0, got ${options.after}`);
    }
    if (this.#subscriptions.has(topic)) {
      throw new SwitchboardError(
        'conflict',
        `this client already subscribes to "${topic}"; unsubscribe first, or use another client for a second cursor`,
      );
    }
    const subscription = new Subscription<T>(topic, options, {
      remove: (ended) => {
        if (this.#subscriptions.get(topic) !== ended) return;
        this.#subscriptions.delete(topic);
        this.#connection.unsubscribe(topic);
      },
    });
    this.#subscriptions.set(topic, subscription as Subscription);
    this.#connection.subscribe(topic);
    return subscription;
  }

  /**
   * Publishes one message. Retries (same idempotency key) while the failure is retryable. With
   * `delayMs`/`deliverAt` the message is scheduled: the answer carries its schedule id, and the message
   * is appended (and gets its offset) when due.
   */
  publish(topic: string, data: unknown, options: DelayedPublishOptions): Promise<ScheduledAnswer>;
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<PublishAnswer>;
  async publish(
    topic: string,
    data: unknown,
    options: PublishOptions = {},
  ): Promise<PublishAnswer | ScheduledAnswer> {
    this.#assertOpen();
    assertTopic(topic);
    if (data === undefined)
      throw new SwitchboardError('bad_request', 'publish needs data (any JSON value; use null for none)');
    if (options.event !== undefined && !isValidEvent(options.event)) {
      throw new SwitchboardError('bad_request', `event "${options.event}" is invalid: ${EVENT_RULE}`);
    }
    const envelope = {
      data,
      event: options.event,
      idempotencyKey: options.idempotencyKey ?? randomId('pub-'),
      ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
      ...(options.deliverAt === undefined ? {} : { deliverAt: options.deliverAt }),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const websocket = this.#connection.transport;
        if (websocket?.request !== undefined) {
          const reply = await websocket.request({ op: 'publish', topic, ...envelope });
          if (typeof reply.scheduled === 'string') {
            return {
              topic: reply.topic as string,
              scheduled: reply.scheduled,
              deliverAt: reply.deliverAt as number,
              duplicate: reply.duplicate as boolean,
            };
          }
          return {
            topic: reply.topic as string,
            offset: reply.offset as number,
            time: reply.time as number,
            duplicate: reply.duplicate as boolean,
          };
        }
        const path = `/v1/topics/${encodeURIComponent(topic)}/messages`;
        return (await this.#http.json<PublishAnswer>(path, { method: 'POST', body: envelope })).body;
      } catch (error) {
        if (!isRetryable(error) || attempt >= this.#publishRetries || this.#connection.closed) throw error;
        const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
        await sleep(retryAfterMs ?? backoffDelay(attempt, this.#backoff));
      }
    }
  }

  /** A topic's pending scheduled messages, in due order (`GET /v1/scheduled`). */
  scheduled(topic: string, options: { limit?: number } = {}): Promise<ScheduledMessageView[]> {
    assertTopic(topic);
    return listScheduled(this.#http, topic, options.limit);
  }

  /** Cancels a scheduled message before it is due; `not_found` once delivered or canceled. */
  cancelScheduled(id: string): Promise<void> {
    return cancelScheduled(this.#http, id);
  }

  /**
   * Request-reply: publishes `data` as a request on `topic` and resolves with the first reply
   * (`reply` is its data); rejects with `timeout` when none came within `timeoutMs`.
   */
  request<T = unknown>(
    topic: string,
    data: unknown,
    options: RequestOptions = {},
  ): Promise<RequestAnswer<T>> {
    this.#assertOpen();
    assertTopic(topic);
    return sendRequest<T>(this.#http, this.#connection.transport, topic, data, options);
  }

  /**
   * Answers requests on `topic` with `handler`'s result (its return value, or what its promise
   * resolves to, is the reply's data). With `group`, requests are spread over the group's members.
   */
  respond<T = unknown>(topic: string, handler: RequestHandler<T>, options: RespondOptions = {}): Responder {
    this.#assertOpen();
    assertTopic(topic);
    const answer = (request: Message<T>): Promise<void> =>
      answerRequest(
        this.#http,
        this.#connection.transport,
        request as Message,
        handler as RequestHandler,
        (error) => this.emit('warning', error),
      );
    if (options.group !== undefined) {
      // New requests only: an old request's caller has stopped waiting.
      const consumer = this.group(topic, options.group).consume<T>(answer, { start: 'latest' });
      return { close: () => void consumer.stop() };
    }
    const subscription = this.subscribe<T>(topic, {
      onMessage: (request) => {
        answer(request).catch((error: unknown) => this.emit('error', error as Error));
      },
    });
    return { close: () => subscription.unsubscribe() };
  }

  /** One page of the log (request-response). */
  async fetch(
    topic: string,
    options: { after?: number; limit?: number; epoch?: string } = {},
  ): Promise<FetchAnswer> {
    assertTopic(topic);
    const path = `/v1/topics/${encodeURIComponent(topic)}/messages`;
    const answer = await this.#http.json<FetchAnswer>(path, {
      query: { after: options.after, limit: options.limit, epoch: options.epoch },
    });
    const problem = fetchAnswerProblem(answer.body);
    if (problem !== undefined) {
      const url = this.#http.url(path);
      throw new TransportError(`http to ${url}: malformed fetch answer: ${problem}`, {
        url,
        transport: 'http',
      });
    }
    return answer.body;
  }

  /** A consumer group on `topic`: `group(topic, name).consume(handler)`. */
  group(
    topic: string,
    name: string,
  ): { consume<T = unknown>(handler: GroupHandler<T>, options?: ConsumeOptions): Consumer<T> } {
    assertTopic(topic);
    const host = {
      http: this.#http,
      backoff: this.#backoff,
      websocket: () => this.#connection.transport,
      route: (t: string, g: string, deliver: ((delivery: GroupDelivery) => void) | undefined) => {
        if (deliver === undefined) this.#groupRoutes.delete(`${t}\u0000${g}`);
        else this.#groupRoutes.set(`${t}\u0000${g}`, deliver);
      },
    };
    return {
      consume: <T>(handler: GroupHandler<T>, options: ConsumeOptions = {}) =>
        new Consumer<T>(host, topic, name, handler, options),
    };
  }

  /** Closes the connection and ends every subscription. */
  close(): void {
    this.#connection.close();
    this.#http.close();
    for (const subscription of [...this.#subscriptions.values()]) subscription.end();
  }

  #assertOpen(): void {
    if (this.#connection.closed)
      throw new ConnectionClosedError(`the client for ${this.url} is closed; connect again`, {
        url: this.url,
      });
  }

  #sink(): TransportSink {
    const subscriptions = this.#subscriptions;
    return {
      started: (topic, after, epoch, last) => subscriptions.get(topic)?.started(after, epoch, last),
      epoch: (topic, epoch) => subscriptions.get(topic)?.learnEpoch(epoch),
      message: (message) => subscriptions.get(message.topic)?.deliver(message),
      gap: (topic, after, next) => subscriptions.get(topic)?.gap(after, next),
      reset: (topic, epoch, last) => subscriptions.get(topic)?.reset(epoch, last),
      refused: (topic, error) => {
        subscriptions.get(topic)?.end(error);
        this.emit('error', error);
      },
      groupDelivery: (delivery) =>
        this.#groupRoutes.get(`${delivery.topic}\u0000${delivery.group}`)?.(delivery),
      warning: (error) => this.emit('warning', error),
    };
  }
}

function assertTopic(topic: string): void {
  if (typeof topic !== 'string' || !isValidTopic(topic)) {
    throw new SwitchboardError('bad_request', `topic ${JSON.stringify(topic)} is invalid: ${TOPIC_RULE}`);
  }
}

/** `http://host:8080/` → `http://host:8080`; `ws://` URLs become `http://` (the SDK speaks both). */
function baseUrlOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'ws:' || parsed.protocol === 'wss:')
    parsed.protocol = parsed.protocol === 'ws:' ? 'http:' : 'https:';
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SwitchboardError('bad_request', `connect() needs an http(s) or ws(s) URL, got ${url}`);
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}
