/**
 * A collection of revisioned JSON records on Redis, the layout webhooks and push subscriptions
 * share (and the same create and compare-and-set scripts):
 *
 *   <recordKey(id)>   hash   r (the record as JSON), v (revision)
 *   <index>           zset   record ids by creation time (registration order)
 *
 * `recordKey` and `index` must share a hash tag (one slot): create, list and remove touch both.
 */
import type { RedisClient } from './connection.js';
import { RECORD_CAS_SCRIPT, RECORD_CREATE_SCRIPT } from './job-scripts.js';
import { withJobScripts } from './jobs.js';
import { runScript } from './scripts/define.js';

interface Revisioned {
  id: string;
  revision: number;
  createdAt: number;
}

export interface RecordCollection<T extends Revisioned> {
  create(record: T): Promise<boolean>;
  get(id: string): Promise<T | null>;
  list(): Promise<T[]>;
  update(record: T, expectedRevision: number): Promise<boolean>;
  remove(id: string): Promise<boolean>;
}

export function redisRecordCollection<T extends Revisioned>(options: {
  call<R>(what: string, operation: (redis: RedisClient) => Promise<R>): Promise<R>;
  recordKey(id: string): string;
  index: string;
  /** For error messages: "webhook", "push subscription". */
  noun: string;
}): RecordCollection<T> {
  const { call, recordKey, index, noun } = options;
  return {
    create: (record) =>
      call(`store the ${noun}`, async (r) => {
        const created = await runScript(
          withJobScripts(r),
          RECORD_CREATE_SCRIPT,
          [recordKey(record.id), index],
          [record.revision, JSON.stringify(record), record.createdAt, record.id],
        );
        return created === 1;
      }),
    get: (id) =>
      call(`read the ${noun}`, async (r) => {
        const text = await r.hget(recordKey(id), 'r');
        return text === null ? null : (JSON.parse(text) as T);
      }),
    list: () =>
      call(`list ${noun}s`, async (r) => {
        const ids = await r.zrange(index, 0, -1);
        if (ids.length === 0) return [];
        const pipeline = r.pipeline();
        for (const id of ids) pipeline.hget(recordKey(id), 'r');
        const records: T[] = [];
        for (const [error, text] of (await pipeline.exec()) ?? []) {
          if (error) throw error;
          if (typeof text === 'string') records.push(JSON.parse(text) as T);
        }
        return records;
      }),
    update: (record, expectedRevision) =>
      call(`update the ${noun}`, async (r) => {
        const written = await runScript(
          withJobScripts(r),
          RECORD_CAS_SCRIPT,
          [recordKey(record.id)],
          [expectedRevision, record.revision, JSON.stringify(record)],
        );
        return written === 1;
      }),
    remove: (id) =>
      call(`delete the ${noun}`, async (r) => {
        const [[, removed] = [null, 0]] = (await r.multi().del(recordKey(id)).zrem(index, id).exec()) ?? [];
        return removed === 1;
      }),
  };
}
