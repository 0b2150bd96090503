/**
 * A minimal SSE subscriber on a raw TCP socket: one `GET …/events` request, a chunked-transfer
 * decoder, and an event splitter that counts events with a `data:` line (comments and retry-only
 * blocks are skipped; named events such as `gap` count as control, since the benchmark's messages
 * have no event name).
 */
import { monoUs } from '../lib/proc.js';
import {
  type Connection,
  type ConnectionOptions,
  rawRequest,
  readBenchT,
  type Sink,
  UnavailableError,
} from './connection.js';

const EVENT_FIELD = Buffer.from('event:');
const DATA_FIELD = Buffer.from('data:');
const BLANK_LINE = Buffer.from('\n\n');
const CRLF = Buffer.from('\r\n');

export async function openSse(options: ConnectionOptions, sink: Sink): Promise<Connection> {
  const params = [
    ...(options.after === undefined ? [] : [`after=${options.after}`]),
    ...(options.token === undefined ? [] : [`token=${encodeURIComponent(options.token)}`]),
  ];
  const query = params.length ? `?${params.join('&')}` : '';
  const path = `/v1/topics/${encodeURIComponent(options.topic)}/events${query}`;
  const response = await rawRequest(
    options.url,
    (host) => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  const { socket } = response;
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200 || !type.startsWith('text/event-stream')) {
    socket.destroy();
    const message = `HTTP ${response.status} ${type}`;
    throw response.status === 404 ? new UnavailableError(message) : new Error(message);
  }
  const connection: Connection = {
    count: 0,
    alive: true,
    close: () => {
      connection.alive = false;
      socket.destroy();
    },
  };
  const end = (reason: string): void => {
    if (!connection.alive) return;
    connection.alive = false;
    socket.destroy();
    sink.lost(connection, 0, reason);
  };

  let carry: Buffer | undefined;
  const onEvents = (data: Buffer): void => {
    const buf = carry === undefined ? data : Buffer.concat([carry, data]);
    carry = undefined;
    let start = 0;
    for (;;) {
      const stop = buf.indexOf(BLANK_LINE, start);
      if (stop === -1) break;
      const field = buf.indexOf(DATA_FIELD, start);
      if (field !== -1 && field < stop) {
        const event = buf.indexOf(EVENT_FIELD, start);
        if (event !== -1 && event < stop) sink.control(connection);
        else
          sink.delivered(connection, options.latency ? monoUs() - readBenchT(buf, field, stop) : undefined);
      }
      start = stop + 2;
    }
    if (start < buf.length) carry = Buffer.from(buf.subarray(start));
  };
  const chunked = (response.headers.get('transfer-encoding') ?? '').toLowerCase().includes('chunked');
  const onData = chunked ? dechunker(onEvents, () => end('event stream ended')) : onEvents;
  socket.on('data', onData);
  socket.on('error', (error) => end(error.message));
  socket.on('close', () => end('connection closed'));
  if (response.rest.length) onData(response.rest);
  return connection;
}

/** Decodes `Transfer-Encoding: chunked`, passing each piece of body to `onBody`. */
function dechunker(onBody: (data: Buffer) => void, onEnd: () => void): (chunk: Buffer) => void {
  let remaining = 0; // body bytes left in the current chunk
  let skip = 0; // CRLF bytes left after a chunk
  let sizeLine: Buffer | undefined;
  return (data) => {
    // A size line cut by the end of the last chunk: join it with this one and read on.
    const chunk = sizeLine ? Buffer.concat([sizeLine, data]) : data;
    sizeLine = undefined;
    let pos = 0;
    while (pos < chunk.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - pos);
        onBody(chunk.subarray(pos, pos + take));
        remaining -= take;
        pos += take;
        if (remaining === 0) skip = 2;
        continue;
      }
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - pos);
        skip -= n;
        pos += n;
        continue;
      }
      const lineEnd = chunk.indexOf(CRLF, pos);
      if (lineEnd === -1) {
        sizeLine = Buffer.from(chunk.subarray(pos));
        return;
      }
      const size = Number.parseInt(chunk.toString('latin1', pos, lineEnd).split(';')[0]!, 16);
      pos = lineEnd + 2;
      if (size === 0) {
        onEnd();
        return;
      }
      remaining = size;
    }
  };
}
