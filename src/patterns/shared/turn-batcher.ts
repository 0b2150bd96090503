/**
 * Coalesces socket writes per event-loop turn: the first write of a turn corks the socket and one
 * shared `setImmediate` uncorks every socket written in that turn, so each connection gets one
 * `writev` syscall per turn however many frames it was sent. Syscalls dominate fan-out cost on small
 * machines (see PERF-NOTES.md: ~10× between one write per message and batched writes), and the
 * delay is one turn, invisible next to network latency.
 */
import type { Writable } from 'node:stream';

export class TurnBatcher {
  #corked: Writable[] = [];
  #marks = new WeakSet<Writable>();
  #scheduled = false;

  /** Corks `socket` until the end of this event-loop turn (once per turn, however often it is called). */
  cork(socket: Writable): void {
    if (this.#marks.has(socket)) return;
    this.#marks.add(socket);
    socket.cork();
    this.#corked.push(socket);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const sockets = this.#corked;
    this.#corked = [];
    for (const socket of sockets) {
      this.#marks.delete(socket);
      socket.uncork();
    }
  };

  /** Uncorks everything now (before closing sockets, so queued frames go out first). */
  flushNow(): void {
    this.#flush();
  }
}
