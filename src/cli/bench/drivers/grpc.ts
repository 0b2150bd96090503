/**
 * gRPC `Subscribe` (server stream, on the main port): one channel and one stream per subscriber from
 * the bench's start cursor, push. grpc-js keeps its sockets to itself, so each channel connects
 * through a counting TCP relay in this process (one extra loopback hop, measured with the client).
 */

import {
  type ClientReadableStream,
  credentials,
  Metadata,
  makeClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadProto } from '../../../patterns/grpc/proto.js';
import type { PatternDriver } from '../types.js';
import { countingRelay, SocketTally } from '../wire.js';

interface SubscribeEvent {
  ready?: unknown;
  message?: { data?: string };
}

type SubscribeClient = {
  Subscribe(request: object, metadata: Metadata): ClientReadableStream<SubscribeEvent>;
  close(): void;
};

export const driver: PatternDriver = {
  name: 'grpc',
  title: 'gRPC Subscribe (server stream, push)',
  start(context) {
    const tally = new SocketTally();
    const target = new URL(context.url);
    const Client = makeClientConstructor(loadProto().service, 'Switchboard');
    const clients: SubscribeClient[] = [];
    const streams: Array<ClientReadableStream<SubscribeEvent>> = [];
    let closing = false;
    const metadata = new Metadata();
    if (context.token) metadata.set('authorization', `Bearer ${context.token}`);

    const openOne = (port: number): Promise<void> =>
      new Promise((resolve, reject) => {
        // Its own subchannel pool: one HTTP/2 connection per subscriber, as separate clients have.
        const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
        }) as unknown as SubscribeClient;
        clients.push(client);
        const stream = client.Subscribe({ topic: context.topic, after: context.after }, metadata);
        streams.push(stream);
        context.wire.requests++;
        stream.on('data', (event: SubscribeEvent) => {
          context.wire.frames++;
          if (event.ready) resolve();
          else if (event.message) context.delivered(JSON.parse(event.message.data ?? 'null'));
        });
        stream.on('error', (error: ServiceError) => {
          if (closing) return;
          context.failed(`gRPC stream: ${error.message}`);
          reject(error);
        });
      });

    const relay = countingRelay(target, tally);
    const ready = (async () => {
      const { port } = await relay;
      await Promise.all(Array.from({ length: context.subscribers }, () => openOne(port)));
    })();
    return {
      ready,
      bytesOnWire: () => tally.bytes(),
      async close() {
        closing = true;
        for (const stream of streams) stream.cancel();
        for (const client of clients) client.close();
        await (await relay).close();
      },
    };
  },
};
