/**
 * System topics: the topics the hub writes itself. One rule for every door (HTTP, WebSocket, SSE,
 * gRPC, GraphQL, MQTT, the SDK and the embeddable API):
 *
 * - they are read-only from outside: publish, batch, delete and consumer-group operations answer
 *   403 `forbidden` naming this rule, whoever asks (admin tokens and open mode included);
 * - reading one needs the subscribe permission on the topic it derives from
 *   (`orders.dead-letter` and `orders.presence` ← `orders`), or a pattern that names it;
 * - `*` and `>` never match a reserved segment unless the pattern names it (see `matchTopicStrict`).
 *
 * The reserved segments:
 * - a first segment `jobs`: job queues `jobs.<queue>` and job status topics `jobs.<queue>.<id>`;
 * - a first segment `_inbox`: request-reply inboxes;
 * - a last segment `dead-letter`: `{topic}.dead-letter` (groups and webhooks write it);
 * - a last segment `presence`: `{topic}.presence` (join/leave events).
 *
 * Hub modules write system topics through `hub.internal`, which skips the rule. See docs/security.md.
 */
import { forbidden, type SwitchboardError } from '../protocol/errors.js';

export type SystemTopicKind = 'jobs' | 'inbox' | 'dead-letter' | 'presence';

export const JOBS_SEGMENT = 'jobs';
export const INBOX_SEGMENT = '_inbox';
export const DEAD_LETTER_SEGMENT = 'dead-letter';
export const PRESENCE_SEGMENT = 'presence';
export { PRESENCE_TOPIC_SUFFIX as PRESENCE_SUFFIX } from '../protocol/message.js';

export const SYSTEM_TOPIC_RULE =
  'system topics (jobs.*, _inbox.*, *.dead-letter, *.presence) are written only by the hub itself and are read-only from outside';

/** What kind of system topic `topic` is, or undefined for an ordinary topic. */
export function systemTopicKind(topic: string): SystemTopicKind | undefined {
  const firstDot = topic.indexOf('.');
  const first = firstDot === -1 ? topic : topic.slice(0, firstDot);
  if (firstDot !== -1) {
    const last = topic.slice(topic.lastIndexOf('.') + 1);
    if (last === DEAD_LETTER_SEGMENT) return 'dead-letter';
    if (last === PRESENCE_SEGMENT) return 'presence';
  }
  if (first === JOBS_SEGMENT) return 'jobs';
  if (first === INBOX_SEGMENT) return 'inbox';
  return undefined;
}

export const isSystemTopic = (topic: string): boolean => systemTopicKind(topic) !== undefined;

/**
 * The topic whose subscribe permission lets a caller read `topic`: the base topic of a dead-letter
 * or presence topic, else the topic itself (job and inbox topics derive from nothing outside).
 */
export function derivedFrom(topic: string): string | undefined {
  const kind = systemTopicKind(topic);
  if (kind === 'dead-letter' || kind === 'presence') return topic.slice(0, topic.lastIndexOf('.'));
  return undefined;
}

/** The 403 for a write from outside; `action` says what was tried ("publish to", "delete"…). */
export function systemTopicWriteDenied(topic: string, action: string): SwitchboardError {
  return forbidden(`cannot ${action} "${topic}": ${SYSTEM_TOPIC_RULE}`);
}

/** Throws 403 `forbidden` when `topic` is a system topic; `action` e.g. "publish to". */
export function assertWritableFromOutside(topic: string, action: string): void {
  if (isSystemTopic(topic)) throw systemTopicWriteDenied(topic, action);
}

const isReservedFirst = (segment: string): boolean => segment === JOBS_SEGMENT || segment === INBOX_SEGMENT;
const isReservedLast = (segment: string): boolean =>
  segment === DEAD_LETTER_SEGMENT || segment === PRESENCE_SEGMENT;

/**
 * `matchTopic` for permissions: like NATS patterns (`*` one segment, `>` the rest), except that a
 * wildcard never stands for a reserved segment (first `jobs`/`_inbox`, last `dead-letter`/
 * `presence` of a topic with more than one segment). `orders.*` does not match `orders.dead-letter`;
 * `jobs.>` and `orders.dead-letter` do match what they name.
 */
export function matchTopicStrict(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  const want = pattern.split('.');
  const have = topic.split('.');
  const lastIndex = have.length - 1;
  const reserved = (i: number): boolean =>
    (i === 0 && isReservedFirst(have[0]!)) || (i === lastIndex && i > 0 && isReservedLast(have[i]!));
  for (let i = 0; i < want.length; i++) {
    const segment = want[i];
    if (segment === '>') {
      if (i !== want.length - 1 || have.length <= i) return false;
      for (let j = i; j < have.length; j++) if (reserved(j)) return false;
      return true;
    }
    if (i >= have.length) return false;
    if (segment === '*') {
      if (reserved(i)) return false;
    } else if (segment !== have[i]) return false;
  }
  return want.length === have.length;
}
