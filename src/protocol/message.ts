/** Wire shapes of the topic log, shared by server and client. No dependencies. */

/** A message exactly as every pattern delivers it. */
export interface Message<T = unknown> {
  topic: string;
  offset: number;
  time: number;
  event?: string;
  /** Only on requests (request-reply): the inbox id a responder answers to (`POST /v1/replies/{replyTo}`). */
  replyTo?: string;
  data: T;
}

/** One publish, as sent in a request body or a WebSocket `publish` op. */
export interface PublishEnvelope {
  data: unknown;
  event?: string;
  idempotencyKey?: string;
}

export interface PublishAnswer {
  topic: string;
  offset: number;
  time: number;
  duplicate: boolean;
}

export interface BatchPublishAnswer {
  topic: string;
  offsets: number[];
  time: number;
  /** One flag per envelope: true where its idempotency key had already been published. */
  duplicates: boolean[];
}

export interface FetchAnswer {
  topic: string;
  /** Random id of this log's lifetime; a cursor from another epoch is answered with `reset`. */
  epoch: string | null;
  messages: Message[];
  /** The `after` to send next time. */
  next: number;
  /** Oldest retained offset, 0 when the log is empty. */
  first: number;
  /** Newest offset ever assigned, 0 when nothing was published. */
  last: number;
  /** True when messages after the cursor were removed by retention before they were read. */
  gap: boolean;
  /** True when the cursor cannot belong to this log (other epoch, or past its end): restart from `next`. */
  reset: boolean;
}

export interface TopicStats {
  topic: string;
  epoch: string;
  first: number;
  last: number;
  count: number;
  subscribers: Record<string, number>;
}

export const TOPIC_RULE =
  'segments of 1-64 characters from [A-Za-z0-9_-], at most 8 segments joined by "." (plus an optional ".dead-letter" or ".presence" suffix)';
const TOPIC_RE = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;
export const DEAD_LETTER_SUFFIX = '.dead-letter';
/** Join/leave events of a topic (presence); like dead letters, allowed beyond the eight-segment rule. */
export const PRESENCE_TOPIC_SUFFIX = '.presence';

export const EVENT_RULE = '1-64 characters from [A-Za-z0-9_.-]';
const EVENT_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export const IDEMPOTENCY_KEY_RULE = '1-200 printable ASCII characters';
const IDEMPOTENCY_KEY_RE = /^[\x20-\x7e]{1,200}$/;

export const MAX_JSON_DEPTH = 64;

export function isValidTopic(name: string): boolean {
  if (TOPIC_RE.test(name)) return true;
  const suffix = name.endsWith(DEAD_LETTER_SUFFIX)
    ? DEAD_LETTER_SUFFIX
    : name.endsWith(PRESENCE_TOPIC_SUFFIX)
      ? PRESENCE_TOPIC_SUFFIX
      : undefined;
  return suffix !== undefined && TOPIC_RE.test(name.slice(0, -suffix.length));
}

export const isValidEvent = (name: string): boolean => EVENT_RE.test(name);
export const isValidIdempotencyKey = (key: string): boolean => IDEMPOTENCY_KEY_RE.test(key);
