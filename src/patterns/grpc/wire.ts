/**
 * The proto's message shapes (as @grpc/proto-loader hands them over with LOADER_OPTIONS: snake_case,
 * unset fields absent) and the conversions between them and the hub's values. Decoding checks
 * only what the proto cannot say (JSON text, safe integers); the hub checks the rest.
 */

import type { StoredMessage } from '../../engines/engine.js';
import type { JobRecord } from '../../engines/job-store.js';
import { badRequest } from '../../protocol/errors.js';
import { JsonInputError, parseJson, rawMembers } from '../../protocol/json.js';
import { MAX_JSON_DEPTH } from '../../protocol/message.js';

export interface ProtoMessage {
  topic: string;
  offset: number;
  time: number;
  event?: string;
  data: string;
  reply_to?: string;
}

export interface ProtoJob {
  id: string;
  queue: string;
  status: string;
  progress: number;
  note?: string;
  result?: string;
  error?: string;
  attempts: number;
  max_attempts: number;
  version: number;
  created_at: number;
  updated_at: number;
}

/** The StoredMessage → proto Message conversion, cached per message object (fan-out shares it). */
const cache = new WeakMap<StoredMessage, ProtoMessage>();

export function protoMessage(message: StoredMessage): ProtoMessage {
  let proto = cache.get(message);
  if (!proto) {
    proto = { topic: message.topic, offset: message.offset, time: message.time, data: message.data };
    if (message.event !== undefined) proto.event = message.event;
    if (message.replyTo !== undefined) proto.reply_to = message.replyTo;
    cache.set(message, proto);
  }
  return proto;
}

/** An empty proto3 string is "not given". */
export const given = (text: string | undefined): string | undefined =>
  text === undefined || text === '' ? undefined : text;

/** A proto3 number where 0 means "the default". */
export const nonZero = (value: number | undefined): number | undefined =>
  value === undefined || value === 0 ? undefined : value;

/** A uint64 field decoded as a JS number: refuses values past 2^53 rather than rounding them. */
export function safeInteger(name: string, value: number | undefined): number {
  const number = value ?? 0;
  if (!Number.isSafeInteger(number) || number < 0) {
    throw badRequest(`${name} must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return number;
}

/**
 * A `data`-like field: JSON text, nested at most 64 levels. Returned as sent (the hub stores the
 * sender's own text), so numbers are kept exactly as written.
 */
export function jsonText(name: string, text: string | undefined, fallback?: string): string {
  if (text === undefined || text.trim() === '') {
    if (fallback !== undefined) return fallback;
    throw badRequest(`${name} is required: send JSON text, e.g. {"id":1} or "hello"`);
  }
  try {
    parseJson(text, MAX_JSON_DEPTH);
  } catch (error) {
    if (error instanceof JsonInputError) {
      throw badRequest(`${name} is not JSON text (${error.message}); a string needs quotes: "hello"`);
    }
    throw error;
  }
  return text;
}

const protoStatus = (status: string): string => `JOB_STATUS_${status.toUpperCase()}`;

export function protoJob(job: JobRecord): ProtoJob {
  const proto: ProtoJob = {
    id: job.id,
    queue: job.queue,
    status: protoStatus(job.status),
    progress: job.progress,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    version: job.version,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
  };
  if (job.note !== null) proto.note = job.note;
  if (job.result !== null) proto.result = job.result;
  if (job.error !== null) proto.error = job.error;
  return proto;
}

/** A job status message's data (the job's JSON, core/jobs/job-json.ts) → proto Job; `result` kept as sent. */
export function protoJobFromJson(json: string): ProtoJob {
  const job = JSON.parse(json) as Record<string, unknown>;
  const raw = rawMembers(json).members;
  const proto: ProtoJob = {
    id: String(job.id),
    queue: String(job.queue),
    status: protoStatus(String(job.status)),
    progress: Number(job.progress),
    attempts: Number(job.attempts),
    max_attempts: Number(job.maxAttempts),
    version: Number(job.version),
    created_at: Number(job.createdAt),
    updated_at: Number(job.updatedAt),
  };
  if (typeof job.note === 'string') proto.note = job.note;
  if (raw.has('result')) proto.result = raw.get('result')!;
  if (typeof job.error === 'string') proto.error = job.error;
  return proto;
}
