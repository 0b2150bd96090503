/**
 * Long polling (`wait=S`) and short polling (`wait=0` on a timer) over
 * `GET /v1/topics/{topic}/messages`: one request loop per topic, each sending `after` and `epoch`
 * from the client's cursor, so an answer's `reset`/`gap` flags are the same signals the push
 * transports send as frames. Any failure stops every loop and the client reconnects.
 */
import type { FetchAnswer } from '../../protocol/message.js';
import { ConnectionClosedError, isRefusal, TransportError } from '../errors.js';
import { sleep } from '../runtime.js';
import { fetchAnswerProblem } from '../validate.js';
import type { Transport, TransportContext, TransportFactory, TransportName } from './types.js';

class PollTransport implements Transport {
  readonly closed: Promise<Error>;
  readonly #context: TransportContext;
  /** Topic → the abort controller of its loop. */
  readonly #loops = new Map<string, AbortController>();
  readonly #stop = new AbortController();
  #opened = false;
  #finished = false;
  #resolveClosed!: (error: Error) => void;

  constructor(
    readonly name: TransportName,
    context: TransportContext,
  ) {
    this.#context = context;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Checks the server answers at all, so a dead server moves the client on (and backs off). */
  async open(): Promise<void> {
    await this.#context.http.json('/readyz', { transport: this.name, signal: this.#stop.signal });
    this.#opened = true;
    for (const topic of this.#loops.keys()) this.#start(topic);
  }

  subscribe(topic: string): void {
    if (this.#loops.has(topic) || this.#finished) return;
    this.#loops.set(topic, new AbortController());
    if (this.#opened) this.#start(topic);
  }

  unsubscribe(topic: string): void {
    this.#loops.get(topic)?.abort();
    this.#loops.delete(topic);
  }

  close(): void {
    this.#finish(
      new ConnectionClosedError(`${this.name} to ${this.#context.baseUrl}: closed by the client`, {
        url: this.#context.baseUrl,
        transport: this.name,
      }),
    );
  }

  #start(topic: string): void {
    const loop = this.#loops.get(topic)!;
    this.#run(topic, loop.signal).catch((error: Error) => {
      if (loop.signal.aborted || this.#finished) return;
      if (isRefusal(error)) {
        this.#loops.delete(topic);
        this.#context.sink.refused(topic, error);
      } else this.#finish(error);
    });
  }

  async #run(topic: string, signal: AbortSignal): Promise<void> {
    const { sink, options } = this.#context;
    const long = this.name === 'longpoll';
    const stop = anySignal(signal, this.#stop.signal);
    if (this.#context.position(topic).after === undefined) {
      // Live start: the subscription begins after the log's current end.
      const head = await this.#fetch(topic, { after: 0, limit: 1 }, stop);
      sink.started(topic, head.last, head.epoch, head.last);
    } else {
      const { after, epoch } = this.#context.position(topic);
      sink.started(topic, after!, epoch ?? null, after!);
    }
    while (!stop.aborted) {
      const { after, epoch } = this.#context.position(topic);
      const query = {
        after: after ?? 0,
        epoch,
        limit: options.pollLimit,
        wait: long ? options.longPollWaitSeconds : 0,
      };
      const answer = await this.#fetch(topic, query, stop);
      if (stop.aborted) return;
      sink.epoch(topic, answer.epoch);
      if (answer.reset) {
        sink.reset(topic, answer.epoch, answer.last);
        continue;
      }
      if (answer.gap) sink.gap(topic, after ?? 0, Math.max(0, answer.first - 1));
      for (const message of answer.messages) sink.message(message);
      // A full page means more is waiting: ask again at once. Otherwise short polling waits a period.
      if (!long && answer.messages.length < options.pollLimit) await sleep(options.pollIntervalMs, stop);
    }
  }

  async #fetch(
    topic: string,
    query: Record<string, string | number | undefined>,
    signal: AbortSignal,
  ): Promise<FetchAnswer> {
    const wait = Number(query.wait ?? 0);
    const path = `/v1/topics/${encodeURIComponent(topic)}/messages`;
    const answer = await this.#context.http.json<FetchAnswer>(path, {
      query,
      signal,
      transport: this.name,
      timeoutMs: wait * 1000 + this.#context.options.openTimeoutMs,
    });
    const problem = fetchAnswerProblem(answer.body);
    if (problem !== undefined) {
      const url = this.#context.http.url(path, query);
      throw new TransportError(`${this.name} to ${url}: malformed answer: ${problem}`, {
        url,
        transport: this.name,
      });
    }
    return answer.body;
  }

  #finish(error: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stop.abort();
    for (const loop of this.#loops.values()) loop.abort();
    this.#resolveClosed(error);
  }
}

/** An AbortSignal that aborts when either does (AbortSignal.any is not in every runtime yet). */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  if (a.aborted || b.aborted) abort();
  a.addEventListener('abort', abort, { once: true });
  b.addEventListener('abort', abort, { once: true });
  return controller.signal;
}

export const longPollTransport: TransportFactory = {
  name: 'longpoll',
  isSupported: () => true,
  create: (context) => new PollTransport('longpoll', context),
};

export const shortPollTransport: TransportFactory = {
  name: 'poll',
  isSupported: () => true,
  create: (context) => new PollTransport('poll', context),
};
