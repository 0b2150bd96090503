/**
 * One connected MQTT client: its subscriptions (MQTT filters), one feed subscription per topic
 * they cover, and its cursors. Messages come from the hub's shared per-topic feed, so whatever any
 * door appends reaches the device; nothing is queued beside the log. A persistent session (clean
 * session off) keeps its filters and cursors in the engine: a QoS 1 message moves its topic's
 * cursor once the device has acknowledged it (and every message before it), so a reconnect — on
 * any node, after a restart — resumes from the log exactly where the device stopped.
 */
import type { Duplex } from 'node:stream';
import type { FeedSink, FeedStart, FeedSubscription, GapNotice, ResetNotice } from '../../core/feed.js';
import type { Hub } from '../../core/hub.js';
import type { Principal } from '../../core/token-claims.js';
import type { StoredMessage } from '../../engines/engine.js';
import type { MqttCursor, MqttSessionRecord } from '../../engines/mqtt-store.js';
import type { DeliveryCounter } from '../shared/delivery-counter.js';
import type { TurnBatcher } from '../shared/turn-batcher.js';
import { type MqttFilter, mqttTopicOf, payloadOf } from './mapping.js';
import { coversTopic, type WildcardIndex } from './wildcards.js';
import { encodePublish, qos0PacketOf, qos1PacketOf } from './wire.js';

/** What a session needs from its door. */
export interface SessionDoor {
  readonly hub: Hub;
  readonly wildcards: WildcardIndex;
  readonly batcher: TurnBatcher;
  readonly deliveries: DeliveryCounter;
  /** Bytes queued unsent before the device counts as a slow consumer and is disconnected. */
  readonly maxBufferedBytes: number;
  /** QoS 1 messages sent and not acknowledged before the device counts as a slow consumer. */
  readonly maxUnacked: number;
  /** Whether the principal may read the topic (token patterns, system-topic rule). */
  allowsRead(principal: Principal, topic: string): boolean;
  /** Runs the client id's store writes one after another (across its successive connections). */
  persist(clientId: string, write: () => Promise<void>): Promise<void>;
  /** A store failure or a slow consumer ended the connection (for logs). */
  dropped(clientId: string, reason: string): void;
}

interface TopicDelivery {
  qos: 0 | 1;
  subscription: FeedSubscription | undefined;
  epoch: string | null;
  /** QoS 1 messages sent and not acknowledged yet, in send order. */
  pending: Inflight[];
}

interface Inflight {
  topic: string | undefined;
  offset: number;
  acked: boolean;
}

/** A replay pauses while this many QoS 1 messages are unacknowledged (live delivery does not wait). */
const REPLAY_WINDOW = 100;
/** Dirty cursors are written to the store at most this often (and when the session ends). */
const FLUSH_DELAY_MS = 200;

export class MqttSession implements FeedSink {
  readonly filters = new Map<string, { parsed: MqttFilter; qos: 0 | 1 }>();
  readonly #topics = new Map<string, TopicDelivery>();
  readonly #cursors = new Map<string, MqttCursor>();
  readonly #inflight = new Map<number, Inflight>();
  #nextId = 1;
  #closed = false;
  #dirty = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #drainWaiters: Array<() => void> = [];
  /** Filters of the stored session (restored by aedes before CONNACK). */
  #restored: string[] = [];
  #resumed: Promise<void> | undefined;

  constructor(
    readonly door: SessionDoor,
    readonly conn: Duplex,
    readonly clientId: string,
    readonly clean: boolean,
    readonly principal: Principal,
  ) {
    conn.on('drain', this.#wakeDrainWaiters);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A persistent session's stored state: its cursors now, its filters for aedes to restore. */
  load(record: MqttSessionRecord): Array<{ topic: string; qos: 0 | 1 }> {
    for (const [topic, cursor] of Object.entries(record.cursors)) this.#cursors.set(topic, cursor);
    this.#restored = record.subscriptions.map((s) => s.filter);
    return record.subscriptions.map((s) => ({ topic: s.filter, qos: s.qos }));
  }

  /** Records a checked filter (SUBSCRIBE, or a stored one being restored); delivery starts later. */
  addFilter(parsed: MqttFilter, qos: 0 | 1): void {
    this.filters.set(parsed.filter, { parsed, qos });
  }

  /**
   * After CONNACK: restored filters resume from their cursors (topics new to a wildcard from 0).
   * Runs once; a SUBSCRIBE that arrives with the CONNECT waits for it, so re-subscribing to a
   * restored filter keeps its cursor instead of starting live.
   */
  resume(): Promise<void> {
    this.#resumed ??= this.#cover(this.#restored, true).then(() => this.#markDirty());
    return this.#resumed;
  }

  /** After SUBACK: new filters start live, then retained messages follow. */
  async subscribed(filters: string[]): Promise<void> {
    await this.resume();
    const added = filters.filter((filter) => this.filters.has(filter));
    if (added.length === 0) return;
    await this.#cover(added, false);
    this.#markDirty();
    await this.#sendRetained(added);
  }

  unsubscribed(filters: string[]): void {
    for (const filter of filters) {
      const entry = this.filters.get(filter);
      if (!entry) continue;
      this.filters.delete(filter);
      if (entry.parsed.exact === undefined) this.door.wildcards.remove(filter, this);
    }
    for (const [topic, delivery] of this.#topics) {
      if (this.#qosFor(topic) !== undefined) continue;
      delivery.subscription?.close();
      this.#topics.delete(topic);
      this.#cursors.delete(topic);
    }
    this.#markDirty();
  }

  /** A topic appended somewhere: a wildcard of this session may cover a topic it does not follow yet. */
  topicAppended(topic: string): void {
    if (this.#closed || this.#topics.has(topic)) return;
    const qos = this.#qosFor(topic);
    // A topic first seen after the subscription was made: all of it is new to the device.
    if (qos !== undefined && this.door.allowsRead(this.principal, topic)) this.#follow(topic, qos, 0);
  }

  /** The device acknowledged a QoS 1 message (PUBACK): move its topic's cursor over what is done. */
  acked(messageId: number): void {
    const entry = this.#inflight.get(messageId);
    if (!entry) return;
    this.#inflight.delete(messageId);
    entry.acked = true;
    if (entry.topic !== undefined) {
      const delivery = this.#topics.get(entry.topic);
      const pending = delivery?.pending;
      let moved: number | undefined;
      while (pending && pending.length > 0 && pending[0]!.acked) moved = pending.shift()!.offset;
      if (moved !== undefined && delivery) this.#advance(entry.topic, delivery.epoch, moved);
    }
    if (this.#inflight.size < REPLAY_WINDOW) this.#wakeDrainWaiters();
  }

  /** Ends delivery; a persistent session writes its final cursors. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    for (const delivery of this.#topics.values()) delivery.subscription?.close();
    for (const [filter, entry] of this.filters) {
      if (entry.parsed.exact === undefined) this.door.wildcards.remove(filter, this);
    }
    this.conn.off('drain', this.#wakeDrainWaiters);
    this.#wakeDrainWaiters();
    return this.clean ? Promise.resolve() : this.#flush();
  }

  // FeedSink (one sink for every topic of the session; messages and notices name their topic).

  started(start: FeedStart): void {
    const delivery = this.#topics.get(start.topic);
    if (delivery) delivery.epoch = start.epoch;
    const cursor = this.#cursors.get(start.topic);
    if (!cursor || cursor.epoch !== start.epoch || cursor.offset !== start.after) {
      this.#cursors.set(start.topic, { epoch: start.epoch, offset: start.after });
      this.#markDirty();
    }
  }

  deliver(messages: readonly StoredMessage[], from: number): void {
    const topic = messages[0]!.topic;
    const delivery = this.#topics.get(topic);
    if (!delivery || this.#closed) return;
    this.door.deliveries.count += messages.length - from;
    if (delivery.qos === 0) {
      for (let i = from; i < messages.length; i++) if (!this.#write(qos0PacketOf(messages[i]!))) return;
      this.#advance(topic, delivery.epoch, messages[messages.length - 1]!.offset);
      return;
    }
    for (let i = from; i < messages.length; i++) {
      const message = messages[i]!;
      const messageId = this.#allocateId();
      const entry: Inflight = { topic, offset: message.offset, acked: false };
      this.#inflight.set(messageId, entry);
      delivery.pending.push(entry);
      if (!this.#write(qos1PacketOf(message, messageId, false))) return;
    }
    if (this.#inflight.size > this.door.maxUnacked) {
      this.#drop(`${this.#inflight.size} QoS 1 messages unacknowledged (the device stopped sending PUBACK)`);
    }
  }

  gap(notice: GapNotice): void {
    const delivery = this.#topics.get(notice.topic);
    if (delivery && delivery.pending.length === 0) this.#advance(notice.topic, delivery.epoch, notice.next);
  }

  reset(notice: ResetNotice): void {
    const delivery = this.#topics.get(notice.topic);
    if (delivery) {
      delivery.epoch = notice.epoch;
      delivery.pending = [];
    }
    this.#cursors.set(notice.topic, { epoch: notice.epoch, offset: 0 });
    this.#markDirty();
  }

  ready(): boolean {
    return (
      !this.#closed &&
      this.conn.writableLength < this.door.maxBufferedBytes / 4 &&
      this.#inflight.size < REPLAY_WINDOW
    );
  }

  drained(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  failed(): void {
    this.#drop('the store failed while reading the log; reconnect to resume');
  }

  // Internals.

  async #cover(filters: string[], restoring: boolean): Promise<void> {
    const wildcards: MqttFilter[] = [];
    for (const filter of filters) {
      const entry = this.filters.get(filter);
      if (!entry) continue;
      const { parsed } = entry;
      if (parsed.exact !== undefined) {
        const cursor = this.#cursors.get(parsed.exact);
        this.#follow(
          parsed.exact,
          this.#qosFor(parsed.exact) ?? entry.qos,
          restoring ? (cursor?.offset ?? 0) : undefined,
        );
      } else {
        wildcards.push(parsed);
        this.door.wildcards.add(filter, this);
      }
    }
    if (wildcards.length === 0) return;
    const topics = await this.door.hub.topics();
    if (this.#closed) return;
    for (const { topic } of topics) {
      if (!wildcards.some((parsed) => coversTopic(parsed, topic))) continue;
      if (!this.door.allowsRead(this.principal, topic)) continue;
      const cursor = this.#cursors.get(topic);
      // Restoring: a topic without a cursor appeared while the device was away.
      this.#follow(topic, this.#qosFor(topic) ?? 0, restoring ? (cursor?.offset ?? 0) : undefined);
    }
  }

  /** Follows a topic from `after` (undefined: live, from the log's end). */
  #follow(topic: string, qos: 0 | 1, after: number | undefined): void {
    const existing = this.#topics.get(topic);
    if (existing) {
      existing.qos = qos;
      return;
    }
    const cursor = this.#cursors.get(topic);
    const delivery: TopicDelivery = {
      qos,
      subscription: undefined,
      epoch: cursor?.epoch ?? null,
      pending: [],
    };
    this.#topics.set(topic, delivery);
    const epoch = after !== undefined && after > 0 ? (cursor?.epoch ?? undefined) : undefined;
    delivery.subscription = this.door.hub.feed.subscribe(topic, { after, epoch, transport: 'mqtt' }, this);
  }

  /** The QoS of the filters covering a topic (the highest), or undefined when none does. */
  #qosFor(topic: string): 0 | 1 | undefined {
    let qos: 0 | 1 | undefined;
    for (const { parsed, qos: filterQos } of this.filters.values()) {
      if (coversTopic(parsed, topic) && (qos === undefined || filterQos > qos)) qos = filterQos;
    }
    return qos;
  }

  async #sendRetained(filters: string[]): Promise<void> {
    const parsed = filters.map((filter) => this.filters.get(filter)).filter((entry) => entry !== undefined);
    const records = await this.door.hub.engine.listRetained();
    for (const record of records) {
      if (this.#closed) return;
      const matching = parsed.filter((entry) => coversTopic(entry.parsed, record.topic));
      if (matching.length === 0 || !this.door.allowsRead(this.principal, record.topic)) continue;
      const qos = matching.some((entry) => entry.qos === 1) ? 1 : 0;
      const message: StoredMessage = { ...record, event: undefined };
      let messageId: number | undefined;
      if (qos === 1) {
        messageId = this.#allocateId();
        this.#inflight.set(messageId, { topic: undefined, offset: record.offset, acked: false });
      }
      const packet = encodePublish({
        topic: mqttTopicOf(record.topic),
        payload: payloadOf(message),
        qos,
        ...(messageId === undefined ? {} : { messageId }),
        retain: true,
      });
      if (!this.#write(packet)) return;
    }
  }

  #advance(topic: string, epoch: string | null, offset: number): void {
    const cursor = this.#cursors.get(topic);
    if (cursor && cursor.epoch === epoch && cursor.offset >= offset) return;
    this.#cursors.set(topic, { epoch, offset });
    this.#markDirty();
  }

  #allocateId(): number {
    let id = this.#nextId;
    while (this.#inflight.has(id)) id = id >= 65_535 ? 1 : id + 1;
    this.#nextId = id >= 65_535 ? 1 : id + 1;
    return id;
  }

  #write(packet: Buffer): boolean {
    if (this.#closed || this.conn.destroyed) return false;
    if (this.conn.writableLength > this.door.maxBufferedBytes) {
      this.#drop(`slow consumer: over ${this.door.maxBufferedBytes} bytes unsent`);
      return false;
    }
    this.door.batcher.cork(this.conn);
    this.conn.write(packet);
    return true;
  }

  /** Disconnects the device; a persistent session resumes from its cursors on reconnect. */
  #drop(reason: string): void {
    this.door.dropped(this.clientId, reason);
    this.conn.destroy();
    void this.close();
  }

  #markDirty(): void {
    if (this.clean || this.#closed) return;
    this.#dirty = true;
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flush().catch(() => this.#markDirty()); // the store was down: try again later
    }, FLUSH_DELAY_MS).unref();
  }

  #flush(): Promise<void> {
    if (!this.#dirty) return Promise.resolve();
    this.#dirty = false;
    const record: MqttSessionRecord = {
      subscriptions: [...this.filters.values()].map(({ parsed, qos }) => ({ filter: parsed.filter, qos })),
      cursors: Object.fromEntries(this.#cursors),
      updatedAt: Date.now(),
    };
    return this.door.persist(this.clientId, () => this.door.hub.engine.putMqttSession(this.clientId, record));
  }

  readonly #wakeDrainWaiters = (): void => {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  };
}
