/**
 * The contract's rules for delayed delivery (docs/delayed.md): when a publish is a schedule, how
 * `delayMs` / `deliverAt` are checked, schedule ids, and the JSON a schedule is shown as.
 */
import { randomBytes } from 'node:crypto';
import type { ScheduledMessage } from '../engines/schedule-store.js';
import { badRequest } from '../protocol/errors.js';

/** The longest delay: 30 days. */
export const MAX_DELAY_MS = 30 * 24 * 3_600_000;
/** A `deliverAt` this far in the past is still accepted (clock skew, time in transit): due at once. */
export const PAST_TOLERANCE_MS = 60_000;

export interface DelayFields {
  delayMs?: unknown;
  deliverAt?: unknown;
}

/** True when a publish envelope asks for later delivery. */
export const isScheduled = (fields: DelayFields): boolean =>
  (fields.delayMs !== undefined && fields.delayMs !== null) ||
  (fields.deliverAt !== undefined && fields.deliverAt !== null);

/**
 * The due time (ms epoch) the envelope asks for; 400 naming the rule otherwise. `atName` is how the
 * caller's wire spells the absolute field (jobs say `runAt`).
 */
export function dueTime(fields: DelayFields, now: number, atName = 'deliverAt'): number {
  const hasDelay = fields.delayMs !== undefined && fields.delayMs !== null;
  const hasAt = fields.deliverAt !== undefined && fields.deliverAt !== null;
  if (hasDelay && hasAt) {
    throw badRequest(`send either delayMs or ${atName}, not both: they say the same thing two ways`);
  }
  if (hasDelay) {
    const delay = fields.delayMs;
    if (typeof delay !== 'number' || !Number.isSafeInteger(delay) || delay < 0 || delay > MAX_DELAY_MS) {
      throw badRequest(
        `delayMs ${JSON.stringify(delay)} is invalid: send a whole number of milliseconds from 0 to ${MAX_DELAY_MS} (30 days)`,
      );
    }
    return now + delay;
  }
  const at = fields.deliverAt;
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) {
    throw badRequest(
      `${atName} ${JSON.stringify(at)} is invalid: send a whole number of milliseconds since 1970 (UTC)`,
    );
  }
  if (at < now - PAST_TOLERANCE_MS) {
    throw badRequest(
      `${atName} ${at} is ${now - at} ms in the past (more than ${PAST_TOLERANCE_MS} ms): publish without it to deliver now`,
    );
  }
  if (at > now + MAX_DELAY_MS) {
    throw badRequest(`${atName} ${at} is more than 30 days ahead (${MAX_DELAY_MS} ms): schedule it nearer`);
  }
  return at; // a time just past is due at once, and keeps its place in due order
}

const ID_RULE = /^sch_[0-9a-z]{13}[A-Za-z0-9_-]{10}$/;
let sequence = 0;

/**
 * `sch_` + the creation time and a per-process sequence (base 36, fixed width, so ids sort in creation
 * order and due-time ties keep it) + 10 random characters (unguessable, unique across nodes).
 */
export function newScheduleId(now: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  const time = Math.max(0, now).toString(36).padStart(9, '0').slice(-9);
  return `sch_${time}${sequence.toString(36).padStart(4, '0')}${randomBytes(8).toString('base64url').slice(0, 10)}`;
}

export const isScheduleId = (id: unknown): id is string => typeof id === 'string' && ID_RULE.test(id);

/** A schedule as the API shows it; `data` is spliced in as the publisher's own JSON text. */
export function scheduledJson(message: ScheduledMessage): string {
  const head = {
    id: message.id,
    topic: message.topic,
    deliverAt: message.deliverAt,
    createdAt: message.createdAt,
    ...(message.event === undefined ? {} : { event: message.event }),
  };
  return `${JSON.stringify(head).slice(0, -1)},"data":${message.data}}`;
}
