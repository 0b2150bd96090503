/**
 * MQTT 3.1.1 bytes the door writes and checks itself: PUBLISH packets built from stored messages
 * (QoS 0 packets once per message, shared by every subscriber; QoS 1 packets per subscriber, for
 * their packet identifiers), and a frame-length guard that refuses oversized packets from their
 * fixed header, before any of their body is buffered.
 */
import type { StoredMessage } from '../../engines/engine.js';
import { mqttTopicOf, payloadOf } from './mapping.js';

export interface PublishFields {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  messageId?: number;
  retain?: boolean;
  dup?: boolean;
}

/** Encodes a PUBLISH packet (MQTT 3.1.1 §3.3). */
export function encodePublish(fields: PublishFields): Buffer {
  const topicLength = Buffer.byteLength(fields.topic);
  const remaining = 2 + topicLength + (fields.qos > 0 ? 2 : 0) + fields.payload.length;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  const packet = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  packet[0] = 0x30 | (fields.dup ? 0x08 : 0) | (fields.qos << 1) | (fields.retain ? 0x01 : 0);
  let at = 1;
  let length = remaining;
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    packet[at++] = byte;
  } while (length > 0);
  packet.writeUInt16BE(topicLength, at);
  at += 2;
  at += packet.write(fields.topic, at, 'utf8');
  if (fields.qos > 0) {
    packet.writeUInt16BE(fields.messageId ?? 0, at);
    at += 2;
  }
  fields.payload.copy(packet, at);
  return packet;
}

const qos0Packets = new WeakMap<StoredMessage, Buffer>();

/** The QoS 0 PUBLISH of a stored message, encoded once and shared by every subscriber. */
export function qos0PacketOf(message: StoredMessage): Buffer {
  let packet = qos0Packets.get(message);
  if (!packet) {
    packet = encodePublish({ topic: mqttTopicOf(message.topic), payload: payloadOf(message), qos: 0 });
    qos0Packets.set(message, packet);
  }
  return packet;
}

export function qos1PacketOf(message: StoredMessage, messageId: number, dup: boolean): Buffer {
  return encodePublish({
    topic: mqttTopicOf(message.topic),
    payload: payloadOf(message),
    qos: 1,
    messageId,
    dup,
  });
}

/**
 * Follows the packet boundaries of an inbound byte stream and refuses a packet whose fixed header
 * announces more than `maxPacketBytes` (or a malformed length), so a client cannot make the broker
 * buffer up to the 256 MiB MQTT allows.
 */
export class FrameGuard {
  #state: 'type' | 'length' | 'body' = 'type';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(readonly maxPacketBytes: number) {}

  /** False when the bytes announce an oversized or malformed packet: close the connection. */
  accepts(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'type') {
        i++;
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
      } else if (this.#state === 'length') {
        const byte = chunk[i++]!;
        this.#length += (byte & 0x7f) * this.#multiplier;
        this.#multiplier *= 128;
        this.#lengthBytes++;
        if ((byte & 0x80) === 0) {
          if (this.#length > this.maxPacketBytes) return false;
          this.#remaining = this.#length;
          this.#state = this.#remaining > 0 ? 'body' : 'type';
        } else if (this.#lengthBytes >= 4) return false;
      } else {
        const take = Math.min(this.#remaining, chunk.length - i);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = 'type';
      }
    }
    return true;
  }
}
