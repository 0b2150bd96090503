/** Serializes fetch answers around the cached message JSON (no re-serialization of data). */
import type { FetchResult } from '../../core/hub.js';
import { messageJson } from '../../core/wire-json.js';
import type { StoredMessage } from '../../engines/engine.js';

// Long polls woken together share one read, so they share its message array: join it once.
const joinedMessages = new WeakMap<StoredMessage[], string>();

export function fetchAnswerJson(result: FetchResult): string {
  let messages = joinedMessages.get(result.messages);
  if (messages === undefined) {
    messages = result.messages.map(messageJson).join(',');
    joinedMessages.set(result.messages, messages);
  }
  const epoch = result.epoch === null ? 'null' : `"${result.epoch}"`;
  return `{"topic":"${result.topic}","epoch":${epoch},"messages":[${messages}],"next":${result.next},"first":${result.first},"last":${result.last},"gap":${result.gap},"reset":${result.reset}}`;
}
