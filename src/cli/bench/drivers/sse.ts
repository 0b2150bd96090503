/** Server-Sent Events: one streaming GET per subscriber from the bench's start cursor, push. */
import { setMaxListeners } from 'node:events';
import { request } from 'node:http';
import type { PatternDriver } from '../types.js';
import { SocketTally } from '../wire.js';

export const driver: PatternDriver = {
  name: 'sse',
  title: 'Server-Sent Events (push, one response)',
  start(context) {
    const tally = new SocketTally();
    const controller = new AbortController();
    setMaxListeners(0, controller.signal); // one signal ends every subscriber's request
    const base = new URL(context.url);
    const openOne = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const outgoing = request(
          {
            host: base.hostname,
            port: base.port,
            path: `/v1/topics/${encodeURIComponent(context.topic)}/events?after=${context.after}`,
            headers: { accept: 'text/event-stream', ...context.headers },
            signal: controller.signal,
          },
          (response) => {
            if (response.statusCode !== 200) {
              reject(new Error(`SSE answered ${response.statusCode}`));
              response.resume();
              return;
            }
            let buffer = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              buffer += chunk;
              let end = buffer.indexOf('\n\n');
              while (end !== -1) {
                const event = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                end = buffer.indexOf('\n\n');
                if (event.startsWith('retry:') && !event.includes('\ndata:')) continue;
                context.wire.frames++;
                if (/^event: ready$/m.test(event)) {
                  resolve();
                  continue;
                }
                if (/^event: /m.test(event) || !/^data: /m.test(event)) continue;
                const data = event
                  .split('\n')
                  .filter((line) => line.startsWith('data: '))
                  .map((line) => line.slice(6))
                  .join('\n');
                context.delivered((JSON.parse(data) as { data?: unknown }).data);
              }
            });
            response.on('error', () => undefined);
          },
        );
        outgoing.on('socket', (socket) => {
          context.wire.requests++;
          tally.add(socket);
        });
        outgoing.on('error', (error) => {
          if (!controller.signal.aborted) reject(error);
        });
        outgoing.end();
      });
    return {
      ready: Promise.all(Array.from({ length: context.subscribers }, openOne)).then(() => undefined),
      bytesOnWire: () => tally.bytes(),
      async close() {
        controller.abort();
      },
    };
  },
};
