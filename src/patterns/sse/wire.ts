/**
 * Server-Sent Events bytes, built once. A stream's response body is written straight to its socket
 * in HTTP/1.1 chunked framing, so a message's complete chunk (size line, `id:`/`event:`/`data:`
 * fields, CRLF) is identical for every single-topic subscriber: it is cached per StoredMessage and a
 * live batch's chunks are concatenated once per batch, then the same Buffer goes to every socket.
 * Multi-topic streams share the fields after `id:` and build only their id line per connection.
 */

import { messageJson } from '../../core/wire-json.js';
import type { StoredMessage } from '../../engines/engine.js';

/** One chunk of a chunked HTTP body (RFC 9112 §7.1): `size-in-hex CRLF data CRLF`. */
export function chunk(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const prefix = `${length.toString(16)}\r\n`;
  const buffer = Buffer.allocUnsafe(prefix.length + length + 2);
  buffer.write(prefix, 0, 'latin1');
  buffer.write(text, prefix.length, 'utf8');
  buffer.write('\r\n', prefix.length + length, 'latin1');
  return buffer;
}

/** The last chunk of a chunked body. */
export const END_OF_BODY = Buffer.from('0\r\n\r\n', 'latin1');

/** A comment line: ignored by EventSource, keeps proxies and NATs from dropping an idle stream. */
export const KEEP_ALIVE_CHUNK = chunk(': keep-alive\n\n');

/**
 * `data:` lines for a JSON text. Stored data keeps the publisher's whitespace, which may include
 * line breaks; each line becomes its own `data:` field and EventSource joins them back with `\n`.
 */
function dataLines(json: string): string {
  if (!json.includes('\n') && !json.includes('\r')) return `data: ${json}\n`;
  return json
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
}

const fieldsCache = new WeakMap<StoredMessage, string>();

/** The fields after `id:` of a message event: `event:` only for named events (so onmessage sees the rest). */
export function messageFields(message: StoredMessage): string {
  let fields = fieldsCache.get(message);
  if (fields === undefined) {
    const event = message.event === undefined ? '' : `event: ${message.event}\n`;
    fields = `${event}${dataLines(messageJson(message))}\n`;
    fieldsCache.set(message, fields);
  }
  return fields;
}

const messageChunks = new WeakMap<StoredMessage, Buffer>();
const batchChunks = new WeakMap<readonly StoredMessage[], Buffer>();

/** A single-topic stream's event for a message (`id:` is the offset), shared by every subscriber. */
export function messageChunk(message: StoredMessage): Buffer {
  let cached = messageChunks.get(message);
  if (cached === undefined) {
    cached = chunk(`id: ${message.offset}\n${messageFields(message)}`);
    messageChunks.set(message, cached);
  }
  return cached;
}

/** Chunks of `messages[from..]` as one Buffer; the whole-batch case is cached per batch array. */
export function messagesChunk(messages: readonly StoredMessage[], from: number): Buffer {
  if (messages.length - from === 1) return messageChunk(messages[from]!);
  if (from === 0) {
    let cached = batchChunks.get(messages);
    if (cached === undefined) {
      cached = Buffer.concat(messages.map(messageChunk));
      batchChunks.set(messages, cached);
    }
    return cached;
  }
  return Buffer.concat(messages.slice(from).map(messageChunk));
}

/** A named control event (`ready`, `gap`, `reset`, `close`), optionally moving the stream's id. */
export function eventChunk(name: string, data: unknown, id?: string): Buffer {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  return chunk(`${idLine}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

export function retryChunk(retryMs: number): Buffer {
  return chunk(`retry: ${Math.round(retryMs)}\n\n`);
}

/**
 * The response head, written by hand because the body bypasses Node's ServerResponse. The
 * connection closes with the stream, so no client tries to reuse it.
 */
export function responseHead(extraHeaders: Record<string, string>): string {
  let head =
    'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n' +
    'Cache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\nConnection: close\r\n' +
    'Transfer-Encoding: chunked\r\n';
  for (const [name, value] of Object.entries(extraHeaders)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}
