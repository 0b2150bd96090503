/**
 * One WebSocket connection: frame checks, the op dispatch table, replies matched by id, its
 * subscriptions, and the transport chores (send-buffer bound, flood guard, liveness).
 *
 * Every server frame is written straight to the socket, pre-framed, through the turn batcher; `ws`
 * only handles the handshake, reading, pings and the closing handshake. Both paths write to the
 * same socket in call order (permessage-deflate is off, so ws never queues frames of its own).
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { StoredMessage } from '../../engines/engine.js';
import {
  badRequest,
  type ErrorCode,
  isSwitchboardError,
  payloadTooLarge,
  type SwitchboardError,
} from '../../protocol/errors.js';
import { jsonDepth } from '../../protocol/json.js';
import { MAX_JSON_DEPTH } from '../../protocol/message.js';
import {
  type ClientOp,
  CloseCode,
  type CloseCodeValue,
  closeReason,
  parseClientOp,
} from '../../protocol/ws.js';
import type { DeliveryCounter } from '../shared/delivery-counter.js';
import type { TurnBatcher } from '../shared/turn-batcher.js';
import type { OpHandlers, OpKey, WsSubscription } from './ops.js';
import { errorReplyFrame, messagesFrames, replyFrame } from './wire.js';

export interface WsConnectionLimits {
  /** Frames up to this size are handled; larger ones (ws reads up to twice this) get an error reply. */
  maxFrameBytes: number;
  /** Queued, unsent bytes past which the connection is a slow consumer (closed with 4001). */
  maxBufferedBytes: number;
  maxTopics: number;
  /** Control ops and malformed frames per second (bursts of twice this pass). */
  controlOpsPerSecond: number;
}

const OPEN = 1; // WebSocket.OPEN

/** Runs before an op's handler; throwing answers the op with the error instead. */
export type OpGuard = (connection: WsConnection, key: OpKey, op: ClientOp) => void;

export interface WsConnectionParts {
  handlers: OpHandlers;
  beforeOp: OpGuard;
  limits: WsConnectionLimits;
  batcher: TurnBatcher;
  deliveries: DeliveryCounter;
}

/** After sending a close frame, how long the peer gets to answer before the socket is destroyed. */
const CLOSE_GRACE_MS = 5_000;
/** Ops that cost the server a read or a state change and nothing else limits: the flood guard counts them. */
const CONTROL_OPS = new Set<OpKey>([
  'subscribe',
  'subscribeGroup',
  'unsubscribe',
  'unsubscribeGroup',
  'auth',
]);

export class WsConnection {
  readonly subscriptions = new Map<string, WsSubscription>();
  /** Cleared by each ping round, set by any pong or frame: a peer that stays silent a whole round is dead. */
  alive = true;
  #closing = false;
  #tokens: number;
  #refilledAt = Date.now();
  #drainWaiters: Array<() => void> = [];
  #terminateTimer: NodeJS.Timeout | undefined;

  readonly limits: WsConnectionLimits;
  readonly #parts: WsConnectionParts;

  constructor(
    readonly ws: WebSocket,
    readonly socket: Duplex,
    parts: WsConnectionParts,
  ) {
    this.#parts = parts;
    this.limits = parts.limits;
    this.#tokens = parts.limits.controlOpsPerSecond * 2;
    socket.on('drain', this.#wakeDrainWaiters);
    ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('close', () => this.#release());
    ws.on('error', () => {
      // ws closes the connection itself (bad UTF-8 1007, oversized frame 1009); nothing to add.
    });
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Writes a pre-built frame; false when the connection is closing or was just closed as slow. */
  send(frame: Buffer): boolean {
    // After a close frame (either side's), no data frame may follow (RFC 6455 §5.5.1).
    if (this.#closing || this.ws.readyState !== OPEN) return false;
    if (this.socket.writableLength > this.limits.maxBufferedBytes) {
      this.close(
        CloseCode.SlowConsumer,
        `slow consumer: over ${this.limits.maxBufferedBytes} bytes unsent; reconnect and resume from your last offsets`,
      );
      return false;
    }
    this.#parts.batcher.cork(this.socket);
    this.socket.write(frame);
    return true;
  }

  sendMessages(messages: readonly StoredMessage[], from: number): void {
    if (this.send(messagesFrames(messages, from))) this.#parts.deliveries.count += messages.length - from;
  }

  reply(id: number, fields?: Record<string, unknown>): void {
    this.send(replyFrame(id, fields));
  }

  replyError(id: number | null, error: unknown): void {
    const { code, message } = describeError(error);
    this.send(errorReplyFrame(id, code, message));
  }

  /** Replay pauses while this is false (a quarter of the bound, at least the socket's own mark). */
  ready(): boolean {
    const highWater = Math.max(this.socket.writableHighWaterMark, this.limits.maxBufferedBytes / 4);
    return !this.#closing && this.socket.writableLength < highWater;
  }

  drained(): Promise<void> {
    if (this.#closing) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Starts the closing handshake; the socket is destroyed if the peer does not answer in time. */
  close(code: CloseCodeValue, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeSubscriptions();
    this.ws.close(code, closeReason(reason));
    this.#terminateTimer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  terminate(): void {
    this.#closing = true;
    this.ws.terminate();
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    this.alive = true;
    if (this.#closing) return;
    if (isBinary) {
      if (this.#spend()) {
        this.replyError(null, badRequest('binary frames are not supported; send JSON text frames'));
      }
      return;
    }
    const text = data.toString('utf8');
    const value = parseFrame(text);
    if (value instanceof Error) {
      if (this.#spend()) this.replyError(null, badRequest(value.message));
      return;
    }
    const parsed = parseClientOp(value);
    if (!parsed.ok) {
      if (this.#spend()) this.replyError(parsed.id, badRequest(parsed.message));
      return;
    }
    const op = parsed.op;
    if (data.length > this.limits.maxFrameBytes) {
      if (this.#spend()) {
        this.replyError(
          op.id,
          payloadTooLarge(
            `frame is ${data.length} bytes; the limit is ${this.limits.maxFrameBytes} (wsMaxPayloadBytes): send less`,
          ),
        );
      }
      return;
    }
    const key = opKey(op);
    if (CONTROL_OPS.has(key) && !this.#spend()) return;
    this.#dispatch(key, op, text);
  }

  #dispatch(key: OpKey, op: ClientOp, text: string): void {
    let pending: Promise<Record<string, unknown> | undefined>;
    try {
      this.#parts.beforeOp(this, key, op);
      // Called synchronously so pipelined publishes reach the engine in frame order.
      pending = this.#parts.handlers[key](this, op as never, text);
    } catch (error) {
      this.replyError(op.id, error);
      return;
    }
    pending.then(
      (fields) => {
        if (fields !== undefined) this.reply(op.id, fields);
      },
      (error: unknown) => this.replyError(op.id, error),
    );
  }

  /** Token bucket for control ops and bad frames; past it the connection is closed (protocol abuse). */
  #spend(): boolean {
    const now = Date.now();
    const rate = this.limits.controlOpsPerSecond;
    this.#tokens = Math.min(rate * 2, this.#tokens + ((now - this.#refilledAt) * rate) / 1000);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.close(
      CloseCode.RateLimited,
      `too many subscribe/unsubscribe/auth ops or bad frames (limit ${rate}/s); slow down and reconnect`,
    );
    return false;
  }

  #closeSubscriptions(): void {
    for (const subscription of this.subscriptions.values()) subscription.cancel();
    this.subscriptions.clear();
    this.#wakeDrainWaiters();
  }

  readonly #wakeDrainWaiters = (): void => {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  };

  #release(): void {
    this.#closing = true;
    clearTimeout(this.#terminateTimer);
    this.#closeSubscriptions();
    this.socket.off('drain', this.#wakeDrainWaiters);
  }
}

function opKey(op: ClientOp): OpKey {
  if (op.op === 'subscribe' && op.group !== undefined) return 'subscribeGroup';
  if (op.op === 'unsubscribe' && op.group !== undefined) return 'unsubscribeGroup';
  return op.op;
}

/** Parses a text frame, refusing nesting the contract does not allow before JSON.parse sees it. */
function parseFrame(text: string): unknown {
  const maxDepth = MAX_JSON_DEPTH + 2; // the op object, then `data` nested up to the contract's depth
  if (jsonDepth(text, maxDepth) > maxDepth) {
    return new Error(`frame is nested deeper than ${MAX_JSON_DEPTH} levels; flatten the data`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    return new Error(
      `frame is not valid JSON (${(error as Error).message}); send one JSON object per text frame, such as {"op":"subscribe","id":1,"topic":"orders"}`,
    );
  }
}

function describeError(error: unknown): { code: ErrorCode; message: string } {
  if (isSwitchboardError(error)) {
    const e = error as SwitchboardError;
    return { code: e.code, message: e.message };
  }
  return { code: 'unavailable', message: 'the server failed to handle this op; retry shortly' };
}
