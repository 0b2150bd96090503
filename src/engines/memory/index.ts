/**
 * The in-memory engine: the seeds' in-process pub/sub, with the same log semantics as SQLite.
 * Nothing survives the process; use it for tests, embedding and benchmarks.
 */
import type {
  AppendedListener,
  AppendOutcome,
  AppendRequest,
  AppendResult,
  Engine,
  LogState,
  ReadResult,
  StoredMessage,
  SweepRequest,
  TopicSummary,
} from '../engine.js';
import { newEpoch } from '../epoch.js';
import { AppendedSignal } from '../listeners.js';
import { createMemoryGroupStore } from './groups.js';
import { createMemoryJobStore } from './jobs.js';
import { createMemoryMqttStore } from './mqtt.js';
import { createMemoryPushStore } from './push.js';
import { createMemoryScheduleStore } from './schedules.js';
import { createMemoryWebhookStore } from './webhooks.js';

interface MemoryLog {
  epoch: string;
  /**
   * Retained messages from index `head` on: messages[head + i].offset === floor + 1 + i. Trimming
   * moves `head` (O(1)); the dead prefix is dropped once it is half the array (amortized O(1)), so
   * a full log does not pay an O(retention) splice on every append.
   */
  messages: StoredMessage[];
  head: number;
  floor: number;
  last: number;
  /** Idempotency key → outcome, in insertion (= time) order. */
  dedupe: Map<string, AppendOutcome>;
}

const EMPTY: LogState = { epoch: null, floor: 0, last: 0 };

export function createMemoryEngine(): Engine {
  const logs = new Map<string, MemoryLog>();
  const signal = new AppendedSignal();
  let closed = false;

  const retainedAfter = (log: MemoryLog, after: number, limit: number): StoredMessage[] => {
    const start = log.head + Math.max(0, after - log.floor);
    return log.messages.slice(start, start + limit);
  };

  const stateOf = (log: MemoryLog): LogState => ({ epoch: log.epoch, floor: log.floor, last: log.last });

  const trimFront = (log: MemoryLog, count: number): void => {
    if (count <= 0) return;
    log.head += count;
    log.floor += count;
    if (log.head >= 1_024 && log.head * 2 >= log.messages.length) {
      log.messages = log.messages.slice(log.head);
      log.head = 0;
    }
  };

  const assertOpen = (): void => {
    if (closed) throw new Error('memory engine is closed');
  };

  // Synchronous, so consumer groups can dead-letter inside their own single step.
  const appendNow = (request: AppendRequest): AppendResult => {
    const { topic, entries, now, dedupeWindowMs, retention } = request;
    let log = logs.get(topic);
    if (!log) {
      log = { epoch: newEpoch(), messages: [], head: 0, floor: 0, last: 0, dedupe: new Map() };
      logs.set(topic, log);
    }
    const outcomes: AppendOutcome[] = [];
    for (const entry of entries) {
      const key = entry.idempotencyKey;
      const seen = key === undefined ? undefined : log.dedupe.get(key);
      if (seen && seen.time >= now - dedupeWindowMs) {
        outcomes.push({ offset: seen.offset, time: seen.time, duplicate: true });
        continue;
      }
      const offset = ++log.last;
      const message: StoredMessage = { topic, offset, time: now, event: entry.event, data: entry.data };
      if (entry.replyTo !== undefined) message.replyTo = entry.replyTo;
      log.messages.push(message);
      const outcome = { offset, time: now, duplicate: false };
      if (key !== undefined) {
        log.dedupe.delete(key); // re-insert so the map stays in time order
        log.dedupe.set(key, outcome);
      }
      outcomes.push(outcome);
    }
    trimFront(log, log.messages.length - log.head - retention.maxCount);
    const result: AppendResult = { ...stateOf(log), epoch: log.epoch, outcomes };
    const last = log.last;
    if (outcomes.some((o) => !o.duplicate)) queueMicrotask(() => signal.emit(topic, last));
    return result;
  };

  const groupStore = createMemoryGroupStore({
    state: (topic) => {
      const log = logs.get(topic);
      return log ? stateOf(log) : { ...EMPTY };
    },
    messageAt: (topic, offset) => {
      const log = logs.get(topic);
      return log && offset > log.floor ? log.messages[log.head + offset - log.floor - 1] : undefined;
    },
    messagesAfter: (topic, after, limit) => {
      const log = logs.get(topic);
      return log ? retainedAfter(log, after, limit) : [];
    },
    append: appendNow,
    assertOpen,
  });

  return {
    ...groupStore,
    ...createMemoryJobStore({ append: appendNow, assertOpen }),
    ...createMemoryWebhookStore(assertOpen),
    ...createMemoryPushStore(assertOpen),
    ...createMemoryMqttStore(assertOpen),
    ...createMemoryScheduleStore({ append: appendNow, assertOpen }),
    name: 'memory',
    location: 'in memory (nothing survives a restart)',
    async open() {
      closed = false;
    },
    async close() {
      closed = true;
    },
    async ping() {
      assertOpen();
    },

    async append(request: AppendRequest): Promise<AppendResult> {
      assertOpen();
      return appendNow(request);
    },

    async read(topic: string, after: number, limit: number): Promise<ReadResult> {
      assertOpen();
      const log = logs.get(topic);
      if (!log) return { ...EMPTY, messages: [] };
      return { ...stateOf(log), messages: retainedAfter(log, after, limit) };
    },

    async state(topic: string): Promise<LogState> {
      assertOpen();
      const log = logs.get(topic);
      return log ? stateOf(log) : { ...EMPTY };
    },

    async topics(): Promise<TopicSummary[]> {
      assertOpen();
      return [...logs].map(([topic, log]) => ({ topic, ...stateOf(log), epoch: log.epoch }));
    },

    async deleteTopic(topic: string): Promise<boolean> {
      assertOpen();
      return logs.delete(topic);
    },

    async sweep({ now, retentionFor, dedupeWindowMs }: SweepRequest): Promise<void> {
      assertOpen();
      for (const [topic, log] of logs) {
        const oldest = now - retentionFor(topic).maxAgeMs;
        let expired = 0;
        while (log.head + expired < log.messages.length && log.messages[log.head + expired]!.time < oldest) {
          expired++;
        }
        trimFront(log, expired);
        for (const [key, outcome] of log.dedupe) {
          if (outcome.time >= now - dedupeWindowMs) break;
          log.dedupe.delete(key);
        }
      }
    },

    onAppended(listener: AppendedListener): () => void {
      return signal.add(listener);
    },
  };
}
