/**
 * Floor for Node Server-Sent Events fan-out: plain node:http, `GET /v1/topics/{topic}/events`
 * streams `id: <offset>\ndata: <message JSON>\n\n` per publish. Each event is built once as a complete
 * HTTP chunk (size line, event, CRLF) and that one buffer is written straight to every subscriber's
 * socket, corked until the end of the event-loop turn (PERF-NOTES.md: "one pre-built chunk").
 *
 * Run: node --import tsx bench/floor-sse-server.ts   (prints "… listening on http://127.0.0.1:PORT")
 */
import { startFloor, TopicSockets, write } from './lib/floor.js';

const subscribers = new TopicSockets();

startFloor({
  name: 'floor-sse',
  subscriberCount: (topic) => ({ sse: subscribers.count(topic) }),
  broadcast(message) {
    const set = subscribers.get(message.topic);
    if (!set || set.size === 0) return;
    const event = Buffer.from(`id: ${message.offset}\ndata: ${message.json}\n\n`);
    const chunk = Buffer.concat([
      Buffer.from(`${event.length.toString(16)}\r\n`),
      event,
      Buffer.from('\r\n'),
    ]);
    for (const socket of set) write(socket, chunk);
  },
  route(request, response, path) {
    if (request.method !== 'GET' || path.length !== 4 || path[1] !== 'topics' || path[3] !== 'events')
      return false;
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'transfer-encoding': 'chunked',
    });
    response.flushHeaders();
    // From here on the chunks are written to the socket directly (pre-built, corked per loop turn).
    subscribers.add(decodeURIComponent(path[2]!), request.socket);
    return true;
  },
});
