/**
 * Guards for what the server sends. A server (or a proxy in front of it) may send anything; a
 * message that is not the contract's shape must never reach the application or move a cursor, so
 * each frame is checked before use and a bad one becomes a TransportError (the client reconnects
 * and resumes from its last good offset).
 */
import type { FetchAnswer, Message } from '../protocol/message.js';

const isOffset = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Why `value` is not a message, or undefined when it is one. */
export function messageProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'it is not a JSON object';
  const m = value as Record<string, unknown>;
  if (typeof m.topic !== 'string') return "'topic' is not a string";
  if (!isOffset(m.offset) || m.offset < 1) return "'offset' is not a whole number >= 1";
  if (typeof m.time !== 'number') return "'time' is not a number";
  if (m.event !== undefined && typeof m.event !== 'string') return "'event' is not a string";
  if (!('data' in m)) return "'data' is missing";
  return undefined;
}

/** The message fields of a frame (drops `op`, keeps group fields when present). */
export function toMessage(frame: Record<string, unknown>): Message {
  const message: Message = {
    topic: frame.topic as string,
    offset: frame.offset as number,
    time: frame.time as number,
    data: frame.data,
  };
  if (frame.event !== undefined) message.event = frame.event as string;
  if (typeof frame.replyTo === 'string') message.replyTo = frame.replyTo; // a request (request-reply)
  return message;
}

/** Why `value` is not a fetch answer, or undefined when it is one. */
export function fetchAnswerProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'it is not a JSON object';
  const a = value as Record<string, unknown>;
  if (!Array.isArray(a.messages)) return "'messages' is not an array";
  if (!isOffset(a.next) || !isOffset(a.last) || !isOffset(a.first))
    return "'next', 'first' or 'last' is not an offset";
  for (const message of a.messages) {
    const problem = messageProblem(message);
    if (problem !== undefined) return `a message is malformed: ${problem}`;
  }
  return undefined;
}

export type { FetchAnswer };
