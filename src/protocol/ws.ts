/**
 * The WebSocket protocol (`GET /v1/ws`): client ops, server frames, close codes and the guard that
 * checks a parsed client frame. Isomorphic: the server and the client SDK both import this file, so
 * it has no dependencies beyond `errors.ts`. docs/protocol.md describes every frame.
 */
import type { ErrorCode } from './errors.js';
import type { Message } from './message.js';

export type ClientOp =
  | {
      op: 'subscribe';
      id: number;
      topic: string;
      after?: number;
      /** Epoch the `after` cursor came from; a mismatch is answered with a `reset` frame. */
      epoch?: string;
      group?: string;
      /** Most unacked group deliveries in flight (consumer groups only). */
      window?: number;
      /** How long each group delivery is leased before it is redelivered (consumer groups only). */
      leaseMs?: number;
      /** Shown in the topic's presence list: a JSON object of at most 1 KiB (plain subscriptions). */
      info?: Record<string, unknown>;
    }
  | { op: 'unsubscribe'; id: number; topic: string; group?: string }
  | {
      op: 'publish';
      id: number;
      topic: string;
      data: unknown;
      event?: string;
      idempotencyKey?: string;
      /** Delayed delivery: the reply then carries `scheduled` and `deliverAt` instead of `offset`. */
      delayMs?: number;
      deliverAt?: number;
    }
  | { op: 'ack'; id: number; topic: string; group: string; offsets: number[] }
  | {
      op: 'nack';
      id: number;
      topic: string;
      group: string;
      offsets: number[];
      delayMs?: number;
      /** Kept as the last error; a dead letter carries it. */
      error?: string;
    }
  | { op: 'auth'; id: number; token: string }
  /** Request-reply: publishes with a fresh `replyTo`; the ok reply carries `reply` (the first reply's data). */
  | {
      op: 'request';
      id: number;
      topic: string;
      data: unknown;
      event?: string;
      idempotencyKey?: string;
      /** 1-60000, default 30000. */
      timeoutMs?: number;
    }
  /** Answers a request received with `replyTo`; first reply wins (409 after), unknown inbox 404. */
  | { op: 'respond'; id: number; replyTo: string; data: unknown };

export type ClientOpName = ClientOp['op'];

export interface ErrorReply {
  op: 'reply';
  id: number | null;
  ok: false;
  /** `retryAfterMs` only with `rate_limited`: when to try again (HTTP sends it as `Retry-After`). */
  error: { code: ErrorCode; message: string; retryAfterMs?: number };
}

export type ServerFrame =
  | ({ op: 'reply'; id: number; ok: true } & Record<string, unknown>)
  | ErrorReply
  | ({ op: 'message'; group?: string; attempt?: number } & Message)
  /** Messages after `after` up to `next` were removed by retention before they could be delivered. */
  | { op: 'gap'; topic: string; after: number; next: number }
  /** The cursor belongs to another log (other epoch, or past its end): delivery restarts at offset 1. */
  | { op: 'reset'; topic: string; epoch: string | null; last: number };

/**
 * Close codes. 4000 + the HTTP status they mirror where one exists (graphql-ws's convention), plus
 * the registered codes the server uses as they are defined (RFC 6455 §7.4, IANA registry).
 */
export const CloseCode = {
  Normal: 1000,
  /** A frame was larger than twice the frame limit: it was not read. */
  MessageTooBig: 1009,
  /** Graceful shutdown or restart: reconnect after a moment and resume from your last offsets. */
  ServiceRestart: 1012,
  /** The send buffer passed its bound: reconnect and resume from your last offsets; nothing is lost. */
  SlowConsumer: 4001,
  /** No valid token (or it expired): authenticate, do not retry blindly. */
  Unauthorized: 4401,
  /** Too many control ops or malformed frames per second (protocol abuse). */
  RateLimited: 4429,
  /** The server cannot serve the connection right now (its store failed); reconnect and resume. */
  Unavailable: 4503,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** A close reason may carry at most 123 bytes (RFC 6455 §5.5: 125 minus the 2-byte code). */
export const MAX_CLOSE_REASON_BYTES = 123;

export const CLIENT_OPS: readonly ClientOpName[] = [
  'subscribe',
  'unsubscribe',
  'publish',
  'ack',
  'nack',
  'auth',
  'request',
  'respond',
];

type FieldKind = 'string' | 'offset' | 'count' | 'offsets' | 'object' | 'any';

interface FieldRule {
  kind: FieldKind;
  required: boolean;
}

const req = (kind: FieldKind): FieldRule => ({ kind, required: true });
const opt = (kind: FieldKind): FieldRule => ({ kind, required: false });

/** Fields each op accepts besides `op` and `id`. Unknown fields are refused, so typos surface. */
const OP_FIELDS: Record<ClientOpName, Record<string, FieldRule>> = {
  subscribe: {
    topic: req('string'),
    after: opt('offset'),
    epoch: opt('string'),
    group: opt('string'),
    window: opt('count'),
    leaseMs: opt('count'),
    info: opt('object'),
  },
  unsubscribe: { topic: req('string'), group: opt('string') },
  publish: {
    topic: req('string'),
    data: req('any'),
    event: opt('any'),
    idempotencyKey: opt('any'),
    // Checked by the hub's schedule rules, so every door names the same rule.
    delayMs: opt('any'),
    deliverAt: opt('any'),
  },
  ack: { topic: req('string'), group: req('string'), offsets: req('offsets') },
  nack: {
    topic: req('string'),
    group: req('string'),
    offsets: req('offsets'),
    delayMs: opt('offset'),
    error: opt('string'),
  },
  auth: { token: req('string') },
  request: {
    topic: req('string'),
    data: req('any'),
    event: opt('any'),
    idempotencyKey: opt('any'),
    timeoutMs: opt('count'),
  },
  respond: { replyTo: req('string'), data: req('any') },
};

const KIND_TEXT: Record<FieldKind, string> = {
  string: 'a string',
  offset: 'a whole number >= 0',
  count: 'a whole number >= 1',
  offsets: 'a non-empty array of whole numbers >= 1',
  object: 'a JSON object',
  any: 'any JSON value',
};

export type ParsedClientOp = { ok: true; op: ClientOp } | { ok: false; id: number | null; message: string };

const isWhole = (value: unknown, min: number): boolean =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

function fits(kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'offset':
      return isWhole(value, 0);
    case 'count':
      return isWhole(value, 1);
    case 'offsets':
      return Array.isArray(value) && value.length > 0 && value.every((v) => isWhole(v, 1));
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'any':
      return true;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isInteger(value)) return `number ${value}`;
  if (typeof value === 'number' && value < 0) return `number ${value}`;
  return typeof value;
}

const OP_LIST = CLIENT_OPS.join(', ');
const EXAMPLE = '{"op":"subscribe","id":1,"topic":"orders"}';

/** Checks a parsed client frame. The error message says what was expected and what arrived. */
export function parseClientOp(value: unknown): ParsedClientOp {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, id: null, message: `a frame must be a JSON object such as ${EXAMPLE}` };
  }
  const frame = value as Record<string, unknown>;
  const id = typeof frame.id === 'number' && Number.isFinite(frame.id) ? frame.id : null;
  const fail = (message: string): ParsedClientOp => ({ ok: false, id, message });
  if (typeof frame.op !== 'string') {
    return fail(`a frame needs "op", one of ${OP_LIST}, but got ${describe(frame.op)}`);
  }
  const rules = OP_FIELDS[frame.op as ClientOpName];
  if (!Object.hasOwn(OP_FIELDS, frame.op) || rules === undefined) {
    return fail(`unknown op ${JSON.stringify(frame.op)}; use one of ${OP_LIST}`);
  }
  if (id === null) {
    return fail(
      `"${frame.op}" op expects 'id' to be a number (it matches the reply), but got ${describe(frame.id)}`,
    );
  }
  for (const key of Object.keys(frame)) {
    if (key !== 'op' && key !== 'id' && !Object.hasOwn(rules, key)) {
      const allowed = Object.keys(rules).join(', ');
      return fail(`"${frame.op}" op has unknown field '${key}'; it accepts op, id, ${allowed}`);
    }
  }
  for (const [key, rule] of Object.entries(rules)) {
    const field = frame[key];
    if (field === undefined) {
      if (rule.required)
        return fail(`"${frame.op}" op expects '${key}' to be ${KIND_TEXT[rule.kind]}, but it is missing`);
      continue;
    }
    if (!fits(rule.kind, field)) {
      return fail(
        `"${frame.op}" op expects '${key}' to be ${KIND_TEXT[rule.kind]}, but got ${describe(field)}`,
      );
    }
  }
  return { ok: true, op: frame as unknown as ClientOp };
}

/** Shortens a close reason to the protocol's 123 bytes (reasons here are ASCII). */
export function closeReason(text: string): string {
  return text.length <= MAX_CLOSE_REASON_BYTES ? text : `${text.slice(0, MAX_CLOSE_REASON_BYTES - 3)}...`;
}
