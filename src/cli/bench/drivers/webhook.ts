/**
 * Webhooks: one webhook per subscriber, all pointing at a receiver in this process (loopback, so a
 * server started here runs with --allow-private-webhooks; a --url server must allow it too). Each
 * delivery is one POST from the server; bytes and requests are counted at the receiver.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from '../http-client.js';
import type { PatternDriver } from '../types.js';
import { SocketTally } from '../wire.js';

export const driver: PatternDriver = {
  name: 'webhook',
  title: 'webhooks (one POST per message)',
  start(context) {
    const tally = new SocketTally();
    const receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        context.wire.requests++;
        context.wire.frames++;
        response.writeHead(204).end();
        try {
          context.delivered((JSON.parse(Buffer.concat(chunks).toString()) as { data?: unknown }).data);
        } catch {
          context.failed('a webhook POST carried no message JSON');
        }
      });
    });
    receiver.keepAliveTimeout = 30_000;
    receiver.on('connection', (socket) => tally.add(socket));
    const control = new HttpClient(context.url, 8);
    const ids: string[] = [];
    const ready = (async () => {
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const port = (receiver.address() as AddressInfo).port;
      for (let i = 0; i < context.subscribers; i++) {
        const answer = await control.send(
          'POST',
          `/v1/topics/${encodeURIComponent(context.topic)}/webhooks`,
          {
            body: JSON.stringify({ url: `http://127.0.0.1:${port}/hook/${i}` }),
            headers: context.headers,
          },
        );
        if (answer.status !== 201) {
          throw new Error(
            `registering a loopback webhook answered ${answer.status} ${answer.body.slice(0, 200)}` +
              ' (a server given with --url needs --allow-private-webhooks)',
          );
        }
        ids.push((JSON.parse(answer.body) as { id: string }).id);
      }
    })();
    return {
      ready,
      bytesOnWire: () => tally.bytes(),
      async close() {
        await Promise.all(
          ids.map((id) =>
            control.send('DELETE', `/v1/webhooks/${id}`, { headers: context.headers }).catch(() => undefined),
          ),
        );
        control.close();
        receiver.closeAllConnections();
        await new Promise<void>((resolve) => receiver.close(() => resolve()));
      },
    };
  },
};
