/**
 * Server-Sent Events transport, read over `fetch` streaming rather than `EventSource`: it works the
 * same in browsers and Node 20 (which has no EventSource), can send the token as a header, and sees
 * the status and JSON body of a refused stream. One multi-topic stream (`GET /v1/events?topic=…`)
 * carries every subscription; its `after` is the `topic:offset` cursor from docs/protocol.md. A
 * change of topics reopens the stream from the client's cursors.
 */
import { SseEvent } from '../../protocol/sse.js';
import { answerError, ConnectionClosedError, isRefusal, TransportError } from '../errors.js';
import { messageProblem, toMessage } from '../validate.js';
import { type SseEventFields, SseParser } from './sse-parser.js';
import type { Transport, TransportContext, TransportFactory } from './types.js';

type ReadyTopic = { topic: string; epoch: string | null; last: number; after: number };

class SseTransport implements Transport {
  readonly name = 'sse' as const;
  readonly closed: Promise<Error>;
  readonly #context: TransportContext;
  readonly #topics = new Set<string>();
  #controller: AbortController | undefined;
  /** Bumped whenever a stream is replaced, so events of an old stream are dropped. */
  #generation = 0;
  #opened = false;
  #finished = false;
  #reopenScheduled = false;
  #resolveClosed!: (error: Error) => void;

  constructor(context: TransportContext) {
    this.#context = context;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  async open(): Promise<void> {
    if (this.#topics.size > 0) await this.#openStream();
    this.#opened = true; // with no topics there is nothing to stream yet
  }

  subscribe(topic: string): void {
    if (this.#topics.has(topic)) return;
    this.#topics.add(topic);
    if (this.#opened) this.#scheduleReopen();
  }

  unsubscribe(topic: string): void {
    if (this.#topics.delete(topic) && this.#opened) this.#scheduleReopen();
  }

  close(): void {
    this.#finish(
      new ConnectionClosedError(`sse to ${this.#context.baseUrl}: closed by the client`, {
        url: this.#context.baseUrl,
        transport: this.name,
      }),
    );
  }

  /** Many subscribes in one turn cause one reopen. */
  #scheduleReopen(): void {
    if (this.#reopenScheduled || this.#finished) return;
    this.#reopenScheduled = true;
    setTimeout(() => {
      this.#reopenScheduled = false;
      if (this.#finished) return;
      if (this.#topics.size === 0) {
        this.#generation++;
        this.#controller?.abort();
        return;
      }
      this.#openStream().catch((error: Error) => this.#finish(error));
    }, 0);
  }

  #streamUrl(topics: string[]): string {
    const params = new URLSearchParams();
    const cursor: string[] = [];
    for (const topic of topics) {
      params.append('topic', topic);
      const { after } = this.#context.position(topic);
      if (after !== undefined) cursor.push(`${topic}:${after}`); // topics without one start live
    }
    if (cursor.length > 0) params.set('after', cursor.join(','));
    return `${this.#context.baseUrl}/v1/events?${params}`;
  }

  /** Opens a stream for the current topics; resolves at its `ready` event. */
  async #openStream(): Promise<void> {
    this.#controller?.abort();
    const generation = ++this.#generation;
    const controller = new AbortController();
    this.#controller = controller;
    const topics = [...this.#topics];
    const url = this.#streamUrl(topics);
    const { runtime, token, options } = this.#context;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;

    const timer = setTimeout(() => controller.abort(), options.openTimeoutMs);
    let response: Response;
    try {
      response = await runtime.fetch(url, { headers, signal: controller.signal, cache: 'no-store' });
    } catch (error) {
      clearTimeout(timer);
      const why = controller.signal.aborted
        ? `no answer in ${options.openTimeoutMs} ms`
        : (error as Error).message;
      throw this.#error(url, `could not be opened (${why})`, undefined, error);
    }
    if (!response.ok) {
      clearTimeout(timer);
      const error = await this.#refusal(url, response);
      if (isRefusal(error) && (await this.#dropRefusedTopics(topics, error))) {
        return this.#topics.size === 0 ? undefined : this.#openStream();
      }
      throw error;
    }
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith('text/event-stream') || response.body === null) {
      clearTimeout(timer);
      controller.abort();
      throw this.#error(
        url,
        `answered ${type || 'no content type'} instead of text/event-stream; is a proxy in the way?`,
      );
    }
    return new Promise((resolve, reject) => {
      let ready = false;
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        if (generation !== this.#generation || this.#finished) return;
        if (error === undefined) {
          ready = true;
          resolve();
        } else if (!ready) {
          this.#generation++;
          controller.abort();
          reject(error);
        } else this.#finish(error);
      };
      this.#read(url, response.body!, controller, generation, settle);
    });
  }

  /** Reads the stream until it ends; `settle()` once at `ready`, `settle(error)` when it breaks. */
  async #read(
    url: string,
    body: ReadableStream<Uint8Array>,
    controller: AbortController,
    generation: number,
    settle: (error?: Error) => void,
  ): Promise<void> {
    const { sseIdleTimeoutMs } = this.#context.options;
    let closeInfo: { code?: number; reason?: string } | undefined;
    let failure: Error | undefined;
    const parser = new SseParser((event) => {
      if (generation !== this.#generation || failure !== undefined) return;
      if (event.event === SseEvent.Close && !event.data.includes('"offset"')) {
        closeInfo = safeParse(event.data) as typeof closeInfo;
        return;
      }
      failure = this.#onEvent(url, event, settle);
      if (failure !== undefined) settle(failure);
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let idle: ReturnType<typeof setTimeout> | undefined;
    const resetIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        failure = this.#error(url, `was silent for ${sseIdleTimeoutMs} ms (no event, no keep-alive)`);
        settle(failure);
      }, sseIdleTimeoutMs);
    };
    try {
      resetIdle();
      for (;;) {
        const { done, value } = await reader.read();
        if (done || generation !== this.#generation || failure !== undefined) break;
        resetIdle();
        parser.feed(decoder.decode(value, { stream: true }));
      }
      if (failure === undefined) {
        const why =
          closeInfo === undefined
            ? 'ended'
            : `was closed by the server ${closeInfo.code} (${closeInfo.reason})`;
        settle(this.#error(url, why, closeInfo?.code));
      }
    } catch (error) {
      settle(this.#error(url, `broke (${(error as Error).message})`, undefined, error));
    } finally {
      clearTimeout(idle);
      controller.abort();
    }
  }

  /** Handles one event; returns an error when the stream must be dropped. */
  #onEvent(url: string, event: SseEventFields, settle: () => void): Error | undefined {
    const sink = this.#context.sink;
    const data = safeParse(event.data) as Record<string, unknown> | undefined;
    if (data === undefined)
      return this.#error(url, `sent an event whose data is not JSON (${event.data.slice(0, 80)})`);
    // A message may carry any event name, even "gap": control events are the ones without an offset.
    if (!('offset' in data)) {
      if (event.event === SseEvent.Ready) return this.#onReady(data.topics as ReadyTopic[], settle);
      if (event.event === SseEvent.Gap)
        sink.gap(data.topic as string, data.after as number, data.next as number);
      else if (event.event === SseEvent.Reset)
        sink.reset(data.topic as string, (data.epoch as string | null) ?? null, data.last as number);
      else sink.warning(this.#error(url, `sent an unknown event "${event.event}"; ignored`));
      return undefined;
    }
    const problem = messageProblem(data);
    if (problem !== undefined) return this.#error(url, `sent a malformed message: ${problem}`);
    if (this.#topics.has(data.topic as string)) sink.message(toMessage(data));
    return undefined;
  }

  /**
   * SSE ids carry offsets, not epochs, so the server cannot tell a cursor from a wiped log that is
   * still within the new log's range. The client can: a known epoch that differs is a reset, and
   * that topic is reopened from offset 0.
   */
  #onReady(ready: ReadyTopic[] | undefined, settle: () => void): Error | undefined {
    if (!Array.isArray(ready)) return this.#error(this.#context.baseUrl, 'sent a ready event without topics');
    let reopen = false;
    for (const entry of ready) {
      const known = this.#context.position(entry.topic);
      if (
        known.epoch !== undefined &&
        entry.epoch !== null &&
        known.epoch !== entry.epoch &&
        (known.after ?? 0) > 0
      ) {
        this.#context.sink.reset(entry.topic, entry.epoch, entry.last);
        reopen = true;
      } else {
        this.#context.sink.started(entry.topic, entry.after, entry.epoch, entry.last);
      }
    }
    settle();
    if (reopen) {
      this.#generation++; // drop what this stream still sends: it follows the old cursor
      this.#scheduleReopen();
    }
    return undefined;
  }

  /** The typed error of a refused stream (400, 401, 403, 503, …). */
  async #refusal(url: string, response: Response): Promise<Error> {
    const text = await response.text().catch(() => '');
    const typed = answerError(response.status, response.headers, text, `GET ${url}`);
    return typed ?? this.#error(url, `answered ${response.status} without the contract's JSON error`);
  }

  /**
   * One refused topic must not take the others down: each is checked with a fetch (the same
   * permission), the refused ones end, and the stream reopens with the rest. False when none could
   * be blamed (then the whole stream failed).
   */
  async #dropRefusedTopics(topics: string[], error: Error): Promise<boolean> {
    const refused: Array<[string, Error]> = [];
    if (topics.length === 1) refused.push([topics[0]!, error]);
    else {
      await Promise.all(
        topics.map((topic) =>
          this.#context.http
            .json(`/v1/topics/${encodeURIComponent(topic)}/messages`, {
              query: { after: 0, limit: 1 },
              transport: 'sse',
            })
            .catch((probe: Error) => {
              if (isRefusal(probe)) refused.push([topic, probe]);
            }),
        ),
      );
    }
    for (const [topic, reason] of refused) {
      this.#topics.delete(topic);
      this.#context.sink.refused(topic, reason);
    }
    return refused.length > 0;
  }

  #error(url: string, what: string, closeCode?: number, cause?: unknown): TransportError {
    return new TransportError(`sse to ${url} ${what}`, { url, transport: this.name, closeCode, cause });
  }

  #finish(error: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#generation++;
    this.#controller?.abort();
    this.#resolveClosed(error);
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const sseTransport: TransportFactory = {
  name: 'sse',
  // Streaming response bodies: every current browser and Node 18+.
  isSupported: () => typeof ReadableStream !== 'undefined' && typeof TextDecoder !== 'undefined',
  create: (context) => new SseTransport(context),
};
