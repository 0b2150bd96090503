/**
 * GraphQL subscriptions over WebSocket (graphql-transport-ws at /graphql): one connection per
 * subscriber, `subscription { messages(topic, after) }` from the bench's start cursor (the replay
 * covers any publish that races the subscribe), push.
 */
import WebSocket from 'ws';
import type { PatternDriver } from '../types.js';
import { SocketTally } from '../wire.js';

const QUERY =
  'subscription Bench($topic: String!, $after: Float) { messages(topic: $topic, after: $after) { ... on Message { offset data } } }';

export const driver: PatternDriver = {
  name: 'graphql',
  title: 'GraphQL subscription (graphql-ws, push)',
  start(context) {
    const tally = new SocketTally();
    const sockets: WebSocket[] = [];
    const url = `${context.url.replace(/^http/, 'ws')}/graphql`;
    const openOne = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
        sockets.push(socket);
        socket.once('upgrade', (response) => tally.add(response.socket));
        socket.once('error', reject);
        socket.once('open', () => {
          context.wire.requests++;
          const connectionParams = context.token ? { token: context.token } : {};
          socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams }));
        });
        socket.on('message', (raw: Buffer) => {
          context.wire.frames++;
          const frame = JSON.parse(raw.toString()) as {
            type: string;
            payload?: { data?: { messages?: { data?: unknown } } } | unknown[];
          };
          if (frame.type === 'connection_ack') {
            socket.send(
              JSON.stringify({
                id: '1',
                type: 'subscribe',
                payload: { query: QUERY, variables: { topic: context.topic, after: context.after } },
              }),
            );
            resolve();
          } else if (frame.type === 'next') {
            const message = (frame.payload as { data?: { messages?: { data?: unknown } } }).data?.messages;
            if (message) context.delivered(message.data);
          } else if (frame.type === 'error') {
            context.failed(`subscription error: ${raw.toString().slice(0, 200)}`);
          } else if (frame.type === 'ping') {
            socket.send('{"type":"pong"}');
          }
        });
        socket.once('close', (code, reason) => {
          if (code !== 1000 && code !== 1005) {
            const why = `GraphQL WebSocket closed with ${code} ${reason.toString()}`;
            context.failed(why);
            reject(new Error(why));
          }
        });
      });
    return {
      ready: Promise.all(Array.from({ length: context.subscribers }, openOne)).then(() => undefined),
      bytesOnWire: () => tally.bytes(),
      async close() {
        await Promise.all(
          sockets.map(
            (socket) =>
              new Promise<void>((resolve) => {
                if (socket.readyState === WebSocket.CLOSED) return resolve();
                socket.once('close', () => resolve());
                socket.close(1000);
                setTimeout(() => {
                  socket.terminate();
                  resolve();
                }, 1_000).unref();
              }),
          ),
        );
      },
    };
  },
};
