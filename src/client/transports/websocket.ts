/**
 * WebSocket transport (`GET /v1/ws`): one socket carries every topic subscription, publishes and
 * consumer-group ops. Replies are matched by `id`. The token rides on the upgrade URL (`?token=`,
 * the only way browsers can send one; the server never logs it). Protocol: docs/protocol.md.
 */
import {
  CLOSE_NORMAL,
  ConnectionClosedError,
  contractError,
  TimeoutError,
  TransportError,
} from '../errors.js';
import type { WebSocketLike } from '../runtime.js';
import { messageProblem, toMessage } from '../validate.js';
import type { OutgoingOp, Transport, TransportContext, TransportFactory } from './types.js';

interface Pending {
  resolve(fields: Record<string, unknown>): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;
const REQUEST_TIMEOUT_MS = 15_000;

class WebSocketTransport implements Transport {
  readonly name = 'websocket' as const;
  readonly closed: Promise<Error>;
  readonly #context: TransportContext;
  readonly #url: string;
  readonly #topics = new Set<string>();
  readonly #pending = new Map<number, Pending>();
  #socket: WebSocketLike | undefined;
  #nextId = 1;
  #opened = false;
  #finished = false;
  #resolveClosed!: (error: Error) => void;

  constructor(context: TransportContext) {
    this.#context = context;
    this.#url = `${context.baseUrl.replace(/^http/, 'ws')}/v1/ws`;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  open(): Promise<void> {
    const { runtime, token, options } = this.#context;
    const url = token === undefined ? this.#url : `${this.#url}?token=${encodeURIComponent(token)}`;
    return new Promise((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = new runtime.WebSocket!(url);
      } catch (error) {
        reject(this.#error(`could not be created (${(error as Error).message})`, undefined, error));
        return;
      }
      this.#socket = socket;
      let detail = '';
      const timer = setTimeout(() => {
        reject(this.#error(`did not open in ${options.openTimeoutMs} ms`));
        this.close();
      }, options.openTimeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        this.#opened = true;
        for (const topic of this.#topics) this.#subscribeOnWire(topic);
        resolve();
      };
      // Browsers say nothing about why; `ws` in Node gives the HTTP status of a refused upgrade.
      socket.onerror = (event) => {
        detail = (event as { message?: string }).message ?? '';
      };
      socket.onclose = (event) => {
        clearTimeout(timer);
        const reason = [event.reason, detail].filter(Boolean).join('; ');
        const error = this.#error(
          `closed ${event.code}${this.#opened ? '' : ' before open'}${reason ? ` (${reason})` : ''}`,
          event.code,
        );
        if (!this.#opened) reject(error);
        this.#finish(error);
      };
      socket.onmessage = (event) => this.#onFrame(event.data);
    });
  }

  subscribe(topic: string): void {
    if (this.#topics.has(topic)) return;
    this.#topics.add(topic);
    if (this.#opened && !this.#finished) this.#subscribeOnWire(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.#topics.delete(topic) || !this.#opened || this.#finished) return;
    this.request({ op: 'unsubscribe', topic }).catch(() => {}); // late frames of it are dropped by the client
  }

  request(op: OutgoingOp, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Record<string, unknown>> {
    const socket = this.#socket;
    if (socket === undefined || this.#finished || socket.readyState !== OPEN) {
      return Promise.reject(this.#error(`is not open; cannot send "${op.op}"`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new TimeoutError(`websocket to ${this.#url}: no reply to "${op.op}" in ${timeoutMs} ms`, {
            url: this.#url,
            transport: this.name,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      socket.send(JSON.stringify({ ...op, id }));
    });
  }

  close(): void {
    this.#finish(
      new ConnectionClosedError(`websocket to ${this.#url}: closed by the client`, {
        url: this.#url,
        transport: this.name,
      }),
    );
  }

  #subscribeOnWire(topic: string): void {
    const { after, epoch } = this.#context.position(topic);
    const op: OutgoingOp = { op: 'subscribe', topic };
    if (after !== undefined) Object.assign(op, epoch === undefined ? { after } : { after, epoch });
    this.request(op).then(
      (reply) => {
        if (!this.#topics.has(topic)) return;
        this.#context.sink.started(
          topic,
          reply.after as number,
          (reply.epoch as string | null) ?? null,
          reply.last as number,
        );
      },
      (error: Error) => {
        if (!this.#topics.has(topic) || this.#finished) return;
        if ((error as { code?: string }).code === 'unavailable' || error instanceof TimeoutError) {
          this.#fail(error); // the server could not start it now: reconnect and resume
          return;
        }
        this.#topics.delete(topic);
        this.#context.sink.refused(topic, error);
      },
    );
  }

  #onFrame(data: unknown): void {
    if (this.#finished) return;
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(String(data));
    } catch {
      this.#fail(this.#error(`sent a frame that is not JSON (${JSON.stringify(String(data).slice(0, 80))})`));
      return;
    }
    const sink = this.#context.sink;
    switch (frame?.op) {
      case 'message': {
        const problem = messageProblem(frame);
        if (problem !== undefined) {
          this.#fail(this.#error(`sent a malformed message frame: ${problem}`));
          return;
        }
        if (typeof frame.group === 'string') {
          sink.groupDelivery({
            ...toMessage(frame),
            group: frame.group,
            attempt: Number(frame.attempt ?? 1),
          });
        } else if (this.#topics.has(frame.topic as string)) {
          sink.message(toMessage(frame));
        }
        return;
      }
      case 'reply':
        this.#onReply(frame);
        return;
      case 'gap':
        sink.gap(frame.topic as string, frame.after as number, frame.next as number);
        return;
      case 'reset':
        sink.reset(frame.topic as string, (frame.epoch as string | null) ?? null, frame.last as number);
        return;
      default:
        // Unknown ops are ignored so newer servers can add frames; say so once per frame.
        sink.warning(
          this.#error(`sent an unknown frame ${JSON.stringify(String(data).slice(0, 80))}; ignored`),
        );
    }
  }

  #onReply(frame: Record<string, unknown>): void {
    const pending = typeof frame.id === 'number' ? this.#pending.get(frame.id) : undefined;
    if (pending === undefined) {
      // An error reply with id null answers a frame the server could not read: ours were all valid,
      // so something between us is corrupting frames. Report it; the ops themselves time out.
      const error = frame.error as { message?: string } | undefined;
      this.#context.sink.warning(
        this.#error(`replied to no pending op: ${error?.message ?? JSON.stringify(frame).slice(0, 120)}`),
      );
      return;
    }
    this.#pending.delete(frame.id as number);
    clearTimeout(pending.timer);
    if (frame.ok === true) {
      pending.resolve(frame);
      return;
    }
    const typed = contractError(frame, `websocket ${this.#url}`);
    pending.reject(
      typed ?? this.#error(`sent a malformed error reply ${JSON.stringify(frame).slice(0, 120)}`),
    );
  }

  #error(what: string, closeCode?: number, cause?: unknown): TransportError {
    return new TransportError(`websocket to ${this.#url} ${what}`, {
      url: this.#url,
      transport: this.name,
      closeCode,
      cause,
    });
  }

  /** Ends a connection the server broke the protocol on; the client reconnects and resumes. */
  #fail(error: Error): void {
    this.#finish(error);
  }

  #finish(error: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
    const socket = this.#socket;
    if (socket !== undefined) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = () => {}; // `ws` throws on an "error" event nobody listens to
      try {
        socket.close(CLOSE_NORMAL);
      } catch {
        // not open yet: closing is best effort
      }
    }
    this.#resolveClosed(error);
  }
}

export const websocketTransport: TransportFactory = {
  name: 'websocket',
  isSupported: (runtime) => runtime.WebSocket !== undefined,
  create: (context) => new WebSocketTransport(context),
};
