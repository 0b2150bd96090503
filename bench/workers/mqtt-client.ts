/**
 * An MQTT 3.1.1 QoS 0 subscriber on a raw TCP socket (CONNECT, SUBSCRIBE, then PUBLISH packets
 * counted from their fixed headers), cheap like the raw WebSocket client so the server stays the
 * bottleneck. The broker's port comes from BENCH_MQTT_PORT (the scenario sets it before the worker
 * processes start); the HTTP URL's host is used.
 */
import { connect } from 'node:net';
import { monoUs } from '../lib/proc.js';
import {
  type Connection,
  type ConnectionOptions,
  readBenchT,
  type Sink,
  UnavailableError,
} from './connection.js';

let nextId = 0;

function utf8Field(text: string): Buffer {
  const bytes = Buffer.from(text);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function packet(type: number, body: Buffer): Buffer {
  const lengthBytes: number[] = [];
  let length = body.length;
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    lengthBytes.push(byte);
  } while (length > 0);
  return Buffer.concat([Buffer.from([type, ...lengthBytes]), body]);
}

export function mqttConnectPacket(clientId: string): Buffer {
  // protocol name "MQTT", level 4, flags: clean session, keep-alive 0 (none)
  return packet(0x10, Buffer.concat([utf8Field('MQTT'), Buffer.from([4, 0x02, 0, 0]), utf8Field(clientId)]));
}

export function mqttSubscribePacket(filter: string, qos: 0 | 1): Buffer {
  return packet(0x82, Buffer.concat([Buffer.from([0, 1]), utf8Field(filter), Buffer.from([qos])]));
}

export function openMqtt(options: ConnectionOptions, sink: Sink): Promise<Connection> {
  const port = Number(process.env.BENCH_MQTT_PORT);
  if (!port) return Promise.reject(new UnavailableError('BENCH_MQTT_PORT is not set'));
  const socket = connect({ host: new URL(options.url).hostname, port, noDelay: true });
  const connection: Connection = {
    count: 0,
    alive: true,
    close() {
      connection.alive = false;
      socket.destroy();
    },
  };
  return new Promise((resolve, reject) => {
    let subscribed = false;
    let pending: Buffer = Buffer.alloc(0);
    socket.once('connect', () => {
      socket.write(mqttConnectPacket(`bench-${process.pid}-${++nextId}`));
      socket.write(mqttSubscribePacket(options.topic.replaceAll('.', '/'), 0));
    });
    socket.on('data', (chunk: Buffer) => {
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      while (at + 2 <= buf.length) {
        let length = 0;
        let multiplier = 1;
        let i = at + 1;
        let complete = false;
        while (i < buf.length && i < at + 5) {
          const byte = buf[i++]!;
          length += (byte & 0x7f) * multiplier;
          multiplier *= 128;
          if ((byte & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete || i + length > buf.length) break;
        const type = buf[at]! >> 4;
        if (type === 3) {
          const stamp = options.latency ? readBenchT(buf, i, i + length) : Number.NaN;
          sink.delivered(connection, Number.isNaN(stamp) ? undefined : monoUs() - stamp);
        } else if (type === 9 && !subscribed) {
          subscribed = true;
          if (buf[i + 2] === 0x80) reject(new Error('MQTT SUBACK refused the subscription'));
          else resolve(connection);
        }
        at = i + length;
      }
      pending = at < buf.length ? buf.subarray(at) : Buffer.alloc(0);
      buf = pending;
    });
    socket.on('error', (error) => {
      if (!subscribed) reject(new UnavailableError(`MQTT: ${error.message}`));
    });
    socket.on('close', () => {
      if (!subscribed) reject(new UnavailableError('MQTT: the broker closed the connection'));
      else if (connection.alive) {
        connection.alive = false;
        sink.lost(connection, 0, 'MQTT connection closed');
      }
    });
  });
}
