/** Socket byte counting for the drivers: every socket is remembered and summed once at the end. */
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';

export class SocketTally {
  readonly #sockets = new Set<Socket>();

  add(socket: Socket): void {
    this.#sockets.add(socket);
  }

  /** Bytes read and written so far by every socket seen (closed ones keep their counts). */
  bytes(): number {
    let total = 0;
    for (const socket of this.#sockets) total += socket.bytesRead + socket.bytesWritten;
    return total;
  }
}

/**
 * A counting TCP relay to `target` (for clients that keep their sockets to themselves: grpc-js,
 * mqtt.js): connect them to `127.0.0.1:port` instead; the client-side sockets are tallied.
 */
export async function countingRelay(
  target: URL,
  tally: SocketTally,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    tally.add(client);
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}
