/**
 * One WebSocket connection: frame checks, the op dispatch table (each op checked by the
 * connection's auth session first), replies matched by id, its subscriptions and group
 * memberships, and the transport chores (send-buffer bound, flood guard, liveness).
 *
 * Every server frame is written straight to the socket, pre-framed, through the turn batcher; `ws`
 * only handles the handshake, reading, pings and the closing handshake. Both paths write to the
 * same socket in call order (permessage-deflate is off, so ws never queues frames of its own).
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Principal } from '../../core/auth.js';
import type { StoredMessage } from '../../engines/engine.js';
import { badRequest, payloadTooLarge } from '../../protocol/errors.js';
import {
  type ClientOp,
  CloseCode,
  type CloseCodeValue,
  closeReason,
  parseClientOp,
} from '../../protocol/ws.js';
import type { DeliveryCounter } from '../shared/delivery-counter.js';
import type { TurnBatcher } from '../shared/turn-batcher.js';
import { opKey, parseFrame } from './client-frames.js';
import { settlesOwnDeliveries } from './group-ops.js';
import type { OpHandlers, OpKey, WsSubscription } from './ops.js';
import { type WsSecurity, WsSession } from './session.js';
import { errorReplyFrameFor, messagesFrames, replyFrame } from './wire.js';

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

export interface WsConnectionParts {
  handlers: OpHandlers;
  security: WsSecurity;
  limits: WsConnectionLimits;
  batcher: TurnBatcher;
  deliveries: DeliveryCounter;
}

/** Who connected: the principal of the upgrade's token (undefined: none yet, token mode). */
export interface WsPeer {
  principal: Principal | undefined;
  /** Client address key (per-address limits). */
  address: string;
}

/**
 * Group member names of this process's connections: a random prefix per process (members of one
 * group may sit on several nodes sharing Redis) and a counter. Fits the member-name rule.
 */
const MEMBER_PREFIX = `ws-${randomBytes(6).toString('base64url')}-`;
let membersNamed = 0;

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
  /** Plain subscriptions keyed by topic, group memberships by `topic group` (group-ops.ts). */
  readonly subscriptions = new Map<string, WsSubscription>();
  /** Who the connection acts as; checks every op (session.ts). */
  readonly session: WsSession;
  /** Cleared by each ping round, set by any pong or frame: a peer that stays silent a whole round is dead. */
  alive = true;
  #closing = false;
  #tokens: number;
  #refilledAt = Date.now();
  #drainWaiters: Array<() => void> = [];
  #terminateTimer: NodeJS.Timeout | undefined;
  #memberName: string | undefined;

  readonly limits: WsConnectionLimits;
  readonly #parts: WsConnectionParts;

  constructor(
    readonly ws: WebSocket,
    readonly socket: Duplex,
    parts: WsConnectionParts,
    peer: WsPeer,
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
    // Last: an already expired principal closes the connection at once, which needs the rest.
    this.session = new WsSession(parts.security, peer.address, peer.principal, this);
  }

  /** This connection's member name in every group it joins, made on first use. */
  get memberName(): string {
    this.#memberName ??= MEMBER_PREFIX + (++membersNamed).toString(36);
    return this.#memberName;
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

  /** A group delivery's frame: same send path (corked, buffer-bounded) and metrics as messages. */
  sendGroupDelivery(frame: Buffer): void {
    if (this.send(frame)) this.#parts.deliveries.count++;
  }

  reply(id: number, fields?: Record<string, unknown>): void {
    this.send(replyFrame(id, fields));
  }

  replyError(id: number | null, error: unknown): void {
    this.send(errorReplyFrameFor(id, error));
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
    const counted =
      CONTROL_OPS.has(key) || ((op.op === 'ack' || op.op === 'nack') && !settlesOwnDeliveries(this, op));
    if (counted && !this.#spend()) return;
    this.#dispatch(key, op, text);
  }

  #dispatch(key: OpKey, op: ClientOp, text: string): void {
    let pending: Promise<Record<string, unknown> | undefined>;
    try {
      this.session.check(key, op, text);
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

  /**
   * Token bucket for control ops and bad frames (acks/nacks that settle nothing this connection
   * holds count as control ops); past it the connection is closed (protocol abuse).
   */
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
    this.session.release();
    this.#closeSubscriptions();
    this.socket.off('drain', this.#wakeDrainWaiters);
  }
}
