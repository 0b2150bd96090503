/** Socket byte counting for the drivers: every socket is remembered and summed once at the end. */
import type { Socket } from 'node:net';

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
