/**
 * MQTT as an engine capability: persistent sessions (clean session off) and retained messages,
 * kept where the log is, so a device resumes on any node and after a restart. A session holds the
 * device's subscriptions and, per topic, the offset it has been delivered up to (its cursor); what
 * was published while it was away is then read from the log, not from a broker-side queue.
 * The MQTT door (src/patterns/mqtt/) decides; engines store whole records by key.
 */

/** One MQTT subscription of a persistent session, as the device sent it (`a/+/c`, QoS 0 or 1). */
export interface MqttSubscriptionRecord {
  filter: string;
  qos: 0 | 1;
}

export interface MqttCursor {
  /** Epoch of the log the offset belongs to (null before the topic existed). */
  epoch: string | null;
  /** Highest offset delivered (QoS 1: acknowledged) to the device. */
  offset: number;
}

export interface MqttSessionRecord {
  subscriptions: MqttSubscriptionRecord[];
  /** Switchboard topic → cursor. */
  cursors: Record<string, MqttCursor>;
  /** When the record was last written (ms). */
  updatedAt: number;
}

/** The retained message of one topic: MQTT's "last known good value". */
export interface RetainedRecord {
  /** Switchboard topic (dots). */
  topic: string;
  /** The message's data as JSON text, as stored in the log. */
  data: string;
  offset: number;
  time: number;
}

export interface MqttStore {
  getMqttSession(clientId: string): Promise<MqttSessionRecord | null>;
  /** Replaces the session record (the door serializes its own writes per client). */
  putMqttSession(clientId: string, record: MqttSessionRecord): Promise<void>;
  deleteMqttSession(clientId: string): Promise<boolean>;
  /** Sets a topic's retained message, or clears it with null. */
  setRetained(topic: string, record: RetainedRecord | null): Promise<void>;
  /** Every retained message (callers filter by topic pattern). */
  listRetained(): Promise<RetainedRecord[]>;
}
