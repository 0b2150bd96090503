/**
 * Storage caps: stored message bytes per topic and in total, checked before every append so a
 * hub answers 507 `insufficient_storage` before memory or disk runs out (retention alone bounds
 * the message count per topic, not the number of topics or their sizes).
 *
 * The engines keep counts, not bytes, so the hub keeps the bytes: what it appended itself, less
 * the retained messages that retention removed since (at the topic's average size), and, for a
 * topic it has not written since it started, an estimate from a sample of the retained messages.
 * It is an estimate per node: exact while messages of a topic are about the same size and one node
 * writes it; the caps are safety limits, not billing.
 */
import type { Engine } from '../engines/engine.js';
import { SwitchboardError } from '../protocol/errors.js';

export interface StorageQuotaOptions {
  /** Bytes of message data one topic may hold; 0 = no cap. */
  maxTopicBytes: number;
  /** Bytes of message data all topics together may hold; 0 = no cap. */
  maxStoredBytes: number;
}

/** What the quota needs from the store: a sample of a topic's retained messages and its count. */
export interface StoredSample {
  /** Messages retained now. */
  count: number;
  /** Bytes of the sampled messages' data, and how many were sampled. */
  sampledBytes: number;
  sampled: number;
}

interface TopicUsage {
  bytes: number;
  count: number;
}

export const insufficientStorage = (message: string): SwitchboardError =>
  new SwitchboardError('insufficient_storage', message);

export class StorageQuota {
  readonly #topics = new Map<string, TopicUsage>();
  readonly #loading = new Map<string, Promise<TopicUsage>>();
  #total = 0;

  constructor(
    private readonly options: StorageQuotaOptions,
    private readonly sample: (topic: string) => Promise<StoredSample>,
  ) {}

  get enabled(): boolean {
    return this.options.maxTopicBytes > 0 || this.options.maxStoredBytes > 0;
  }

  /** Estimated bytes stored in `topic` (undefined until the topic was used on this node). */
  bytesOf(topic: string): number | undefined {
    return this.#topics.get(topic)?.bytes;
  }

  get totalBytes(): number {
    return this.#total;
  }

  /**
   * Throws 507 when storing `added` messages of `bytes` in `topic` would pass a cap, counting the
   * oldest messages the topic's count retention (`maxCount`) removes in the same append.
   */
  async admit(topic: string, bytes: number, added: number, maxCount: number): Promise<void> {
    if (!this.enabled) return;
    const usage = await this.#usage(topic);
    const { maxTopicBytes, maxStoredBytes } = this.options;
    const trimmed = Math.min(usage.count, Math.max(0, usage.count + added - maxCount));
    const freed = usage.count > 0 ? Math.round((usage.bytes / usage.count) * trimmed) : 0;
    bytes -= freed;
    if (maxTopicBytes > 0 && usage.bytes + bytes > maxTopicBytes) {
      throw insufficientStorage(
        `topic "${topic}" holds about ${usage.bytes} bytes; ${bytes} more would pass its cap of ${maxTopicBytes} (maxTopicBytes): let retention remove old messages, delete the topic, or raise the cap`,
      );
    }
    if (maxStoredBytes > 0 && this.#total + bytes > maxStoredBytes) {
      throw insufficientStorage(
        `the hub holds about ${this.#total} bytes of messages; ${bytes} more would pass its cap of ${maxStoredBytes} (maxStoredBytes): delete topics, shorten retention, or raise the cap`,
      );
    }
  }

  /** After an append: `added` messages of `bytes` were stored and `retained` messages remain. */
  stored(topic: string, bytes: number, added: number, retained: number): void {
    if (!this.enabled) return;
    const usage = this.#topics.get(topic) ?? this.#track(topic, { bytes: 0, count: 0 });
    const before = usage.bytes;
    const average = usage.count > 0 ? usage.bytes / usage.count : bytes / Math.max(1, added);
    usage.bytes += bytes;
    usage.count += added;
    // Retention (count on append, age in sweeps) removed the oldest: take them off at the average size.
    const removed = usage.count - retained;
    if (removed > 0) {
      usage.bytes = Math.max(0, usage.bytes - Math.round(removed * average));
      usage.count = retained;
    }
    this.#total += usage.bytes - before;
  }

  /** Estimates the given topics (one at a time: a background task at start). */
  async warmUp(topics: string[]): Promise<void> {
    for (const topic of topics) await this.#usage(topic);
  }

  /** The topic was deleted. */
  forget(topic: string): void {
    const usage = this.#topics.get(topic);
    if (!usage) return;
    this.#total -= usage.bytes;
    this.#topics.delete(topic);
  }

  #track(topic: string, usage: TopicUsage): TopicUsage {
    this.#topics.set(topic, usage);
    this.#total += usage.bytes;
    return usage;
  }

  #usage(topic: string): Promise<TopicUsage> {
    const known = this.#topics.get(topic);
    if (known) return Promise.resolve(known);
    let loading = this.#loading.get(topic);
    if (!loading) {
      loading = this.sample(topic)
        .then(({ count, sampledBytes, sampled }) => {
          const estimate = sampled > 0 ? Math.round((sampledBytes / sampled) * count) : 0;
          return this.#topics.get(topic) ?? this.#track(topic, { bytes: estimate, count });
        })
        .finally(() => this.#loading.delete(topic));
      this.#loading.set(topic, loading);
    }
    return loading;
  }
}

/** Messages read to estimate the size of a topic this node has not written since it started. */
const SAMPLE_SIZE = 100;

/** The hub's quota on `engine`: samples come from the log itself (its newest messages). */
export function createStorageQuota(
  engine: Pick<Engine, 'state' | 'read' | 'topics'>,
  options: StorageQuotaOptions,
): StorageQuota {
  const quota = new StorageQuota(options, async (topic) => {
    const state = await engine.state(topic);
    const count = state.last - state.floor;
    if (count <= 0) return { count: 0, sampledBytes: 0, sampled: 0 };
    const { messages } = await engine.read(topic, state.last - Math.min(count, SAMPLE_SIZE), SAMPLE_SIZE);
    const sampledBytes = messages.reduce((sum, message) => sum + Buffer.byteLength(message.data), 0);
    return { count, sampledBytes, sampled: messages.length };
  });
  // The total cap needs every topic, not only those written since the start: estimate them now.
  if (options.maxStoredBytes > 0) {
    engine
      .topics()
      .then((topics) => quota.warmUp(topics.map((summary) => summary.topic)))
      .catch(() => undefined); // a store that is not reachable yet: topics are estimated when written
  }
  return quota;
}
