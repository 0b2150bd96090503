/** Serializes fetch answers around the cached message JSON (no re-serialization of data). */
import type { FetchResult } from '../../core/hub.js';
import { messageJson } from '../../core/wire-json.js';

export function fetchAnswerJson(result: FetchResult): string {
  const messages = result.messages.map(messageJson).join(',');
  const epoch = result.epoch === null ? 'null' : `"${result.epoch}"`;
  return `{"topic":"${result.topic}","epoch":${epoch},"messages":[${messages}],"next":${result.next},"first":${result.first},"last":${result.last},"gap":${result.gap},"reset":${result.reset}}`;
}
