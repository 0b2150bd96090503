/** WebSocket: one connection per subscriber, `subscribe` from the bench's start cursor, push. */
import WebSocket from 'ws';
import type { PatternDriver } from '../types.js';
import { SocketTally } from '../wire.js';

export const driver: PatternDriver = {
  name: 'ws',
  title: 'WebSocket (push, one connection)',
  start(context) {
    const tally = new SocketTally();
    const sockets: WebSocket[] = [];
    const wsUrl = `${context.url.replace(/^http/, 'ws')}/v1/ws${context.token ? `?token=${encodeURIComponent(context.token)}` : ''}`;
    const openOne = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(wsUrl, { perMessageDeflate: false });
        sockets.push(socket);
        socket.once('upgrade', (response) => tally.add(response.socket));
        socket.once('error', reject);
        socket.once('open', () => {
          context.wire.requests++;
          socket.send(JSON.stringify({ op: 'subscribe', id: 1, topic: context.topic, after: context.after }));
        });
        socket.on('message', (raw: Buffer) => {
          context.wire.frames++;
          const frame = JSON.parse(raw.toString()) as {
            op: string;
            id?: number;
            ok?: boolean;
            data?: unknown;
          };
          if (frame.op === 'message') context.delivered(frame.data);
          else if (frame.op === 'reply' && frame.id === 1) {
            if (frame.ok) resolve();
            else reject(new Error(`subscribe refused: ${raw.toString().slice(0, 200)}`));
          }
        });
        socket.once('close', (code) => {
          if (code !== 1000 && code !== 1005) context.failed(`WebSocket closed with ${code}`);
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
