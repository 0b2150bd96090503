/** A small test driver around the `ws` package: send ops with ids, await matching frames. */
import WebSocket from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: frames of many shapes
export type Frame = any;

export class WsClient {
  readonly frames: Frame[] = [];
  #waiters: Array<() => void> = [];
  #nextId = 1;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)));
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }
  static async open(url: string, query = ''): Promise<WsClient> {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws${query}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new WsClient(ws);
  }
  send(op: Record<string, unknown>): number {
    const id = this.#nextId++;
    this.ws.send(JSON.stringify({ ...op, id }));
    return id;
  }
  async next(match: (frame: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index !== -1) return this.frames.splice(index, 1)[0];
      if (Date.now() > deadline) throw new Error(`no matching frame; have ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
  reply(id: number): Promise<Frame> {
    return this.next((f) => f.op === 'reply' && f.id === id);
  }
  close(): void {
    this.ws.close();
  }
}
