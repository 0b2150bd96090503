/**
 * WebSocket frames, built once. A message's frame (`{"op":"message",…}` in an unmasked text frame)
 * is cached per StoredMessage object and a live batch's frames are concatenated once per batch, so
 * fan-out writes the same Buffer to every subscriber's socket instead of serializing and framing
 * per subscriber. Server frames are never masked (RFC 6455 §5.1), which is what makes them shareable.
 */

import type { GapNotice, ResetNotice } from '../../core/feed.js';
import { groupDeliveryJson } from '../../core/group-wire.js';
import { messageJson } from '../../core/wire-json.js';
import type { StoredMessage } from '../../engines/engine.js';
import type { GroupDelivery } from '../../engines/group-store.js';
import { type ErrorCode, isSwitchboardError } from '../../protocol/errors.js';

const OPCODE_TEXT = 0x01;
const FIN = 0x80;

/** An unmasked, final text frame around `payload` (RFC 6455 §5.2), in one Buffer. */
export function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = FIN | OPCODE_TEXT;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(payload, header, 'utf8');
  return frame;
}

const messageFrames = new WeakMap<StoredMessage, Buffer>();
const batchFrames = new WeakMap<readonly StoredMessage[], Buffer>();

/** The `message` frame of a stored message, built on first use and shared by every connection. */
export function messageFrame(message: StoredMessage): Buffer {
  let frame = messageFrames.get(message);
  if (frame === undefined) {
    frame = textFrame(`{"op":"message",${messageJson(message).slice(1)}`);
    messageFrames.set(message, frame);
  }
  return frame;
}

/** Frames of `messages[from..]` as one Buffer; the whole-batch case is cached per batch array. */
export function messagesFrames(messages: readonly StoredMessage[], from: number): Buffer {
  if (messages.length - from === 1) return messageFrame(messages[from]!);
  if (from === 0) {
    let frames = batchFrames.get(messages);
    if (frames === undefined) {
      frames = Buffer.concat(messages.map(messageFrame));
      batchFrames.set(messages, frames);
    }
    return frames;
  }
  return Buffer.concat(messages.slice(from).map(messageFrame));
}

/**
 * A consumer-group delivery: the message frame plus `group` and `attempt`. Built per delivery (each
 * goes to one member only, so there is nothing to share), around the message's cached JSON.
 */
export function groupMessageFrame(delivery: GroupDelivery, group: string): Buffer {
  return textFrame(`{"op":"message",${groupDeliveryJson(delivery, group).slice(1)}`);
}

export function replyFrame(id: number, fields: Record<string, unknown> = {}): Buffer {
  return textFrame(JSON.stringify({ op: 'reply', id, ok: true, ...fields }));
}

/** `retryAfterMs` (rate limits) tells the client when to try again, as `Retry-After` does over HTTP. */
export function errorReplyFrame(
  id: number | null,
  code: ErrorCode,
  message: string,
  retryAfterMs?: number,
): Buffer {
  const error = retryAfterMs === undefined ? { code, message } : { code, message, retryAfterMs };
  return textFrame(JSON.stringify({ op: 'reply', id, ok: false, error }));
}

/** The error reply for anything a handler threw; errors that are not the contract's say only "retry". */
export function errorReplyFrameFor(id: number | null, error: unknown): Buffer {
  if (isSwitchboardError(error)) return errorReplyFrame(id, error.code, error.message, error.retryAfterMs);
  return errorReplyFrame(id, 'unavailable', 'the server failed to handle this op; retry shortly');
}

export function gapFrame(notice: GapNotice): Buffer {
  return textFrame(
    JSON.stringify({ op: 'gap', topic: notice.topic, after: notice.after, next: notice.next }),
  );
}

export function resetFrame(notice: ResetNotice): Buffer {
  return textFrame(
    JSON.stringify({ op: 'reset', topic: notice.topic, epoch: notice.epoch, last: notice.last }),
  );
}
