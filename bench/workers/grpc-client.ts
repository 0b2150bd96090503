/**
 * A gRPC Subscribe subscriber with @grpc/grpc-js (the client a Node user would have), one HTTP/2
 * connection per subscriber (a local subchannel pool, so 500 clients in a worker do not share one
 * connection). Events are not decoded: a SubscribeEvent whose first byte is the tag of field 2
 * (`message`, 0x12) is a delivery, and `bench_t` is read from its raw bytes like the WebSocket and
 * SSE clients do, so the client stays cheap and the server stays the bottleneck.
 */
import * as grpc from '@grpc/grpc-js';
import { monoUs } from '../lib/proc.js';
import {
  type Connection,
  type ConnectionOptions,
  readBenchT,
  type Sink,
  UnavailableError,
} from './connection.js';

const MESSAGE_TAG = 0x12;
const identity = (buffer: Buffer): Buffer => buffer;

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

/** SubscribeRequest{topic = 1, after = 2 (optional)} by hand: two fields, no proto at run time. */
export function subscribeRequest(topic: string, after: number | undefined): Buffer {
  const name = Buffer.from(topic);
  const bytes = [0x0a, ...varint(name.length), ...name];
  if (after !== undefined) bytes.push(0x10, ...varint(after));
  return Buffer.from(bytes);
}

export function openGrpc(options: ConnectionOptions, sink: Sink): Promise<Connection> {
  const client = new grpc.Client(new URL(options.url).host, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  const metadata = new grpc.Metadata();
  if (options.token !== undefined) metadata.set('authorization', `Bearer ${options.token}`);
  const stream = client.makeServerStreamRequest(
    '/switchboard.v1.Switchboard/Subscribe',
    identity,
    identity,
    subscribeRequest(options.topic, options.after),
    metadata,
  );
  const connection: Connection = {
    count: 0,
    alive: true,
    close() {
      connection.alive = false;
      stream.cancel();
      client.close();
    },
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    stream.on('data', (event: Buffer) => {
      if (!ready) {
        ready = true; // the first event is `ready`: the subscription is in place
        resolve(connection);
        return;
      }
      if (event[0] !== MESSAGE_TAG) return sink.control(connection);
      const stamp = options.latency ? readBenchT(event, 0, event.length) : Number.NaN;
      sink.delivered(connection, Number.isNaN(stamp) ? undefined : monoUs() - stamp);
    });
    stream.on('error', (error: grpc.ServiceError) => {
      if (!ready) {
        client.close();
        return reject(
          error.code === grpc.status.UNIMPLEMENTED || error.code === grpc.status.UNAVAILABLE
            ? new UnavailableError(`gRPC Subscribe: ${error.details}`)
            : new Error(`gRPC Subscribe: ${error.code} ${error.details}`),
        );
      }
      if (connection.alive) {
        connection.alive = false;
        sink.lost(connection, error.code, error.details);
      }
    });
  });
}
