/**
 * Keeps the client connected: walks the transport table in order until one opens, reports state
 * changes, and after a drop or a failed round waits (exponential backoff with jitter) and starts
 * again from the top of the table. Events from a transport that is no longer current are dropped,
 * so two transports never deliver at once; the cursors make any overlap harmless anyway.
 */
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { ConnectionClosedError, isUnauthorized } from './errors.js';
import type { HttpClient } from './http.js';
import type { ResumePosition } from './resume.js';
import { type Runtime, sleep } from './runtime.js';
import type { TokenSource } from './tokens.js';
import type {
  Transport,
  TransportFactory,
  TransportName,
  TransportOptions,
  TransportSink,
} from './transports/types.js';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateEvent {
  state: ConnectionState;
  /** The transport being tried (`connecting`), in use (`open`) or that was lost (`reconnecting`). */
  transport: TransportName | undefined;
  /** Why the client is reconnecting, or why the last attempt failed. */
  error?: Error;
  /** `reconnecting`: how long the client waits before the next round. */
  delayMs?: number;
  /** `reconnecting`: rounds failed in a row (0 after a drop of an open transport). */
  attempt?: number;
}

export interface ConnectionSetup {
  baseUrl: string;
  runtime: Promise<Runtime>;
  http: HttpClient;
  tokens: TokenSource;
  order: readonly TransportFactory[];
  backoff: BackoffOptions;
  options: TransportOptions;
  sink: TransportSink;
  topics(): Iterable<string>;
  position(topic: string): ResumePosition;
  onState(event: StateEvent): void;
  onError(error: Error): void;
}

export class Connection {
  readonly #setup: ConnectionSetup;
  readonly #stop = new AbortController();
  #current: Transport | undefined;
  #candidate: Transport | undefined;
  #openWaiters: Array<() => void> = [];

  constructor(setup: ConnectionSetup) {
    this.#setup = setup;
    this.#run().catch((error: Error) => setup.onError(error));
  }

  /** The open transport, if any. */
  get transport(): Transport | undefined {
    return this.#current;
  }

  get closed(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Resolves once a transport is open (at once if one is). */
  opened(): Promise<void> {
    if (this.#current !== undefined) return Promise.resolve();
    if (this.closed)
      return Promise.reject(
        new ConnectionClosedError(`the client for ${this.#setup.baseUrl} is closed`, {
          url: this.#setup.baseUrl,
        }),
      );
    return new Promise((resolve) => this.#openWaiters.push(resolve));
  }

  subscribe(topic: string): void {
    this.#candidate?.subscribe(topic);
    this.#current?.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    this.#candidate?.unsubscribe(topic);
    this.#current?.unsubscribe(topic);
  }

  close(): void {
    if (this.closed) return;
    this.#stop.abort();
    this.#candidate?.close();
    this.#current?.close();
    this.#current = undefined;
    for (const wake of this.#openWaiters) wake();
    this.#openWaiters = [];
    this.#setup.onState({ state: 'closed', transport: undefined });
  }

  async #run(): Promise<void> {
    const setup = this.#setup;
    const runtime = await setup.runtime;
    const usable = setup.order.filter((factory) => factory.isSupported(runtime));
    let failedRounds = 0;
    let everOpened = false;
    let lost: TransportName | undefined;
    while (!this.closed) {
      let lastError: Error | undefined;
      for (const factory of usable) {
        if (this.closed) return;
        setup.onState({ state: 'connecting', transport: factory.name });
        const transport = factory.create({
          baseUrl: setup.baseUrl,
          runtime,
          http: setup.http,
          token: await setup.tokens.get().catch(() => setup.tokens.current),
          sink: this.#sinkFor(() => this.#current === transport || this.#candidate === transport),
          position: setup.position,
          options: setup.options,
        });
        for (const topic of setup.topics()) transport.subscribe(topic);
        this.#candidate = transport;
        try {
          await transport.open();
        } catch (error) {
          this.#candidate = undefined;
          transport.close();
          lastError = error as Error;
          if (this.closed) return;
          setup.onError(lastError);
          if (isUnauthorized(lastError)) await setup.tokens.refresh().catch(() => {});
          continue; // try the next transport in the table
        }
        this.#candidate = undefined;
        if (this.closed) {
          transport.close();
          return;
        }
        // Topics added while it was opening are in it already (subscribe is idempotent).
        for (const topic of setup.topics()) transport.subscribe(topic);
        this.#current = transport;
        everOpened = true;
        failedRounds = 0;
        setup.onState({ state: 'open', transport: factory.name });
        for (const wake of this.#openWaiters.splice(0)) wake();
        lastError = await transport.closed;
        this.#current = undefined;
        lost = factory.name;
        if (this.closed) return;
        setup.onError(lastError);
        if (isUnauthorized(lastError)) await setup.tokens.refresh().catch(() => {});
        break; // a working transport dropped: back off, then start again from the best one
      }
      if (this.closed) return;
      const delayMs = backoffDelay(failedRounds, setup.backoff);
      setup.onState({
        state: everOpened || failedRounds > 0 ? 'reconnecting' : 'connecting',
        transport: lost,
        error: lastError,
        delayMs,
        attempt: failedRounds,
      });
      failedRounds++;
      await sleep(delayMs, this.#stop.signal);
    }
  }

  /** A sink that forwards only while `isCurrent()`: a replaced transport's late events are dropped. */
  #sinkFor(isCurrent: () => boolean): TransportSink {
    const sink = this.#setup.sink;
    const guard =
      <A extends unknown[]>(call: (...args: A) => void) =>
      (...args: A): void => {
        if (isCurrent() && !this.closed) call(...args);
      };
    return {
      started: guard(sink.started),
      epoch: guard(sink.epoch),
      message: guard(sink.message),
      gap: guard(sink.gap),
      reset: guard(sink.reset),
      refused: guard(sink.refused),
      groupDelivery: guard(sink.groupDelivery),
      warning: guard(sink.warning),
    };
  }
}
