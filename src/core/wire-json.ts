/**
 * The one serializer of messages: builds the contract's message JSON around the stored raw data
 * text, once per message (cached on the object, so fan-out shares one string).
 */

import type { StoredMessage } from '../engines/engine.js';
import type { Message } from '../protocol/message.js';

const cache = new WeakMap<StoredMessage, string>();

export function messageJson(message: StoredMessage): string {
  let json = cache.get(message);
  if (json === undefined) {
    const event = message.event === undefined ? '' : `,"event":${JSON.stringify(message.event)}`;
    // Inbox ids are `_inbox.` + base64url: no character needs escaping.
    const replyTo = message.replyTo === undefined ? '' : `,"replyTo":"${message.replyTo}"`;
    json = `{"topic":"${message.topic}","offset":${message.offset},"time":${message.time}${event}${replyTo},"data":${message.data}}`;
    cache.set(message, json);
  }
  return json;
}

/** The message as a plain object, for in-process subscribers. */
export function toMessage(message: StoredMessage): Message {
  const result: Message = {
    topic: message.topic,
    offset: message.offset,
    time: message.time,
    data: undefined,
  };
  if (message.event !== undefined) result.event = message.event;
  if (message.replyTo !== undefined) result.replyTo = message.replyTo;
  result.data = JSON.parse(message.data);
  return result;
}
