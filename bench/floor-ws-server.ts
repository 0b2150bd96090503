/**
 * Floor for Node WebSocket fan-out (issue 3's target: Switchboard ≥ 70% of this). A minimal `ws`
 * broadcast server speaking just enough of Switchboard's protocol for the same load generator:
 * `{"op":"subscribe","id","topic"}` → `{"op":"reply","id","ok":true,…}`, then one
 * `{"op":"message",…}` text frame per publish (`POST /v1/topics/{topic}/messages`).
 *
 * Each message is serialized once and framed once (`WebSocket.Sender.frame`, no masking, no
 * permessage-deflate); the same buffer is written to every subscriber's socket, corked until the end
 * of the event-loop turn (see PERF-NOTES.md). No slow-consumer bound: the benchmark's publisher stays
 * at most 64 messages ahead of the slowest subscriber.
 *
 * Run: node --import tsx bench/floor-ws-server.ts   (prints "… listening on http://127.0.0.1:PORT")
 */
import * as wsModule from 'ws';
import { startFloor, TopicSockets, write } from './lib/floor.js';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
};

const TEXT = 1;
const subscribers = new TopicSockets();

const server = startFloor({
  name: 'floor-ws',
  subscriberCount: (topic) => ({ ws: subscribers.count(topic) }),
  broadcast(message) {
    const set = subscribers.get(message.topic);
    if (!set || set.size === 0) return;
    const payload = Buffer.from(`{"op":"message",${message.json.slice(1)}`);
    const frame = Buffer.concat(
      Sender.frame(payload, { fin: true, rsv1: false, opcode: TEXT, mask: false, readOnly: false }),
    );
    for (const socket of set) write(socket, frame);
  },
});

const wss = new wsModule.WebSocketServer({ server, path: '/v1/ws', perMessageDeflate: false });
wss.on('connection', (ws, request) => {
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    let op: { op?: string; id?: number; topic?: string };
    try {
      op = JSON.parse(String(data)) as typeof op;
    } catch {
      ws.send('{"op":"reply","id":0,"ok":false,"error":{"code":"bad_request","message":"frames are JSON"}}');
      return;
    }
    if (op.op !== 'subscribe' || typeof op.topic !== 'string') {
      ws.send(
        `{"op":"reply","id":${Number(op.id) || 0},"ok":false,"error":{"code":"bad_request","message":"only subscribe"}}`,
      );
      return;
    }
    ws.send(`{"op":"reply","id":${Number(op.id) || 0},"ok":true,"epoch":"floor","last":0}`);
    subscribers.add(op.topic, request.socket);
  });
});
