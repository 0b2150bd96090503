/**
 * Consumer-group names, defaults and ranges, and the words for refused acks and nacks. Every
 * check throws `bad_request` with what to send instead, before anything reaches the engine, so
 * bad input never changes group state.
 */
import type { GroupStart, SettleRejection } from '../engines/group-store.js';
import { badRequest, conflict, type SwitchboardError } from '../protocol/errors.js';

export const GROUP_DEFAULTS = {
  /** How long a claimed message stays with its member before it is redelivered. */
  leaseMs: 30_000,
  /** Deliveries per message before it goes to `{topic}.dead-letter`. */
  maxAttempts: 5,
  /** Unacked deliveries a push (WebSocket) member holds at once. */
  window: 16,
  /** Messages one HTTP claim answers by default. */
  max: 10,
  /** Named members seen this recently (or holding deliveries) are listed in the group state. */
  memberRecentMs: 120_000,
} as const;

export const GROUP_RANGES = {
  max: { min: 1, max: 100 },
  leaseMs: { min: 100, max: 43_200_000 },
  maxAttempts: { min: 1, max: 1_000 },
  window: { min: 1, max: 1_000 },
  delayMs: { min: 0, max: 86_400_000 },
  offsets: { min: 1, max: 1_000 },
  errorChars: { min: 0, max: 2_000 },
} as const;

export const GROUP_RULE = '1-64 characters from [A-Za-z0-9_-]';
const GROUP_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const MEMBER_RULE = '1-128 characters from [A-Za-z0-9_.:@-]';
const MEMBER_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;

export function assertGroup(group: unknown): string {
  if (typeof group !== 'string' || !GROUP_RE.test(group)) {
    throw badRequest(`group ${JSON.stringify(group)} is invalid: use ${GROUP_RULE}`);
  }
  return group;
}

export function assertMember(member: unknown): string | undefined {
  if (member === undefined || member === null) return undefined;
  if (typeof member !== 'string' || !MEMBER_RE.test(member)) {
    throw badRequest(`member ${JSON.stringify(member)} is invalid: use ${MEMBER_RULE}, or leave it out`);
  }
  return member;
}

export function assertStart(start: unknown): GroupStart | undefined {
  if (start === undefined || start === null) return undefined;
  if (start !== 'earliest' && start !== 'latest') {
    throw badRequest(`start ${JSON.stringify(start)} is invalid: use "earliest" (the default) or "latest"`);
  }
  return start;
}

/** A whole number option of the embeddable API (HTTP parses query strings first). */
export function wholeNumber(
  name: string,
  value: unknown,
  range: { min: number; max: number },
  fallback: number,
): number;
export function wholeNumber(
  name: string,
  value: unknown,
  range: { min: number; max: number },
  fallback?: undefined,
): number | undefined;
export function wholeNumber(
  name: string,
  value: unknown,
  range: { min: number; max: number },
  fallback?: number,
): number | undefined {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw badRequest(
      `${name} ${JSON.stringify(value)} is invalid: send a whole number from ${range.min} to ${range.max}`,
    );
  }
  return value;
}

export function assertOffsets(value: unknown): number[] {
  const { max } = GROUP_RANGES.offsets;
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw badRequest(`offsets must be a non-empty array of at most ${max} message offsets, e.g. [57, 58]`);
  }
  const seen = new Set<number>();
  for (const offset of value) {
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 1) {
      throw badRequest(`offset ${JSON.stringify(offset)} is invalid: offsets are whole numbers from 1`);
    }
    if (seen.has(offset)) throw badRequest(`offset ${offset} is listed twice; send each offset once`);
    seen.add(offset);
  }
  return value as number[];
}

export function assertError(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  const { max } = GROUP_RANGES.errorChars;
  if (typeof error !== 'string' || error.length > max) {
    throw badRequest(`error must be a string of at most ${max} characters describing why processing failed`);
  }
  return error;
}

const REASON_WORDS: Record<SettleRejection['reason'], (r: SettleRejection) => string> = {
  'never-delivered': (r) => `offset ${r.offset} was never delivered to this group`,
  'not-pending': (r) => `offset ${r.offset} is no longer in flight (already acked, or dead-lettered)`,
  'leased-to-other': (r) =>
    `offset ${r.offset} is leased to member ${JSON.stringify(r.holder)} now (your lease passed and it was redelivered)`,
  released: (r) => `offset ${r.offset} was nacked or released and waits for redelivery`,
};

/**
 * Offsets the group never handed out are the caller's mistake (400); offsets whose state moved on
 * (acked, redelivered to someone else) are a conflict with the group's state (409).
 */
export function settleRefusal(
  verb: 'ack' | 'nack',
  topic: string,
  group: string,
  rejected: SettleRejection[],
): SwitchboardError {
  const shown = rejected.slice(0, 5).map((r) => REASON_WORDS[r.reason](r));
  if (rejected.length > shown.length) shown.push(`and ${rejected.length - shown.length} more`);
  const message = `${verb} refused for group "${group}" on topic "${topic}", nothing was changed: ${shown.join('; ')}. Send the request again without these offsets`;
  return rejected.some((r) => r.reason === 'never-delivered') ? badRequest(message) : conflict(message);
}
