/**
 * A minimal WebSocket subscriber on a raw TCP socket: handshake, one masked `subscribe` text frame,
 * then a frame parser that counts `{"op":"message"…}` frames, answers pings, and reports a close.
 * Server frames are never masked and Switchboard does not fragment small messages, but continuation
 * frames are handled anyway.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { monoUs } from '../lib/proc.js';
import {
  type Connection,
  type ConnectionOptions,
  rawRequest,
  readBenchT,
  type Sink,
  UnavailableError,
} from './connection.js';

const OP_MESSAGE = Buffer.from('"op":"message"');
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;

/** A masked client frame (RFC 6455 §5.3). */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65_536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  mask.copy(frame, headerLength);
  for (let i = 0; i < length; i++) frame[headerLength + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

export async function openWs(options: ConnectionOptions, sink: Sink): Promise<Connection> {
  const key = randomBytes(16).toString('base64');
  const query = options.token === undefined ? '' : `?token=${encodeURIComponent(options.token)}`;
  const response = await rawRequest(
    options.url,
    (host) =>
      `GET /v1/ws${query} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const { socket } = response;
  if (response.status !== 101) {
    socket.destroy();
    const message = `upgrade refused: HTTP ${response.status}`;
    throw response.status === 404 || response.status === 400 || response.status === 426
      ? new UnavailableError(message)
      : new Error(message);
  }
  return new Promise((resolve, reject) => {
    let subscribed = false;
    const connection: Connection = {
      count: 0,
      alive: true,
      close: () => {
        connection.alive = false;
        socket.destroy();
      },
    };
    const end = (code: number, reason: string): void => {
      if (!connection.alive) return;
      connection.alive = false;
      socket.destroy();
      if (subscribed) sink.lost(connection, code, reason);
      else reject(new Error(`closed before the subscribe reply: ${code} ${reason}`));
    };
    const onText = (buf: Buffer, start: number, stop: number): void => {
      if (subscribed) {
        const at = buf.indexOf(OP_MESSAGE, start);
        if (at === -1 || at >= stop) sink.control(connection);
        else
          sink.delivered(connection, options.latency ? monoUs() - readBenchT(buf, start, stop) : undefined);
        return;
      }
      const frame = JSON.parse(buf.toString('utf8', start, stop)) as {
        op?: string;
        id?: number;
        ok?: boolean;
        error?: unknown;
      };
      if (frame.op !== 'reply' || frame.id !== 1) return;
      if (!frame.ok) {
        end(0, `subscribe refused: ${JSON.stringify(frame.error)}`);
        return;
      }
      subscribed = true;
      resolve(connection);
    };
    const parser = frameParser(socket, {
      text: onText,
      close: (code, reason) => end(code, reason),
    });
    socket.on('data', parser);
    socket.on('error', (error) => end(0, error.message));
    socket.on('close', () => end(1006, 'socket closed'));
    const op: Record<string, unknown> = { op: 'subscribe', id: 1, topic: options.topic };
    if (options.after !== undefined) op.after = options.after;
    socket.write(clientFrame(TEXT, Buffer.from(JSON.stringify(op))));
    if (response.rest.length) parser(response.rest);
  });
}

interface FrameHandlers {
  text(buf: Buffer, start: number, end: number): void;
  close(code: number, reason: string): void;
}

/** Returns the socket 'data' handler that parses server frames. */
function frameParser(socket: Socket, handlers: FrameHandlers): (chunk: Buffer) => void {
  let carry: Buffer | undefined;
  let fragments: Buffer[] = [];
  return (chunk) => {
    const buf = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    carry = undefined;
    let pos = 0;
    while (pos + 2 <= buf.length) {
      const b0 = buf[pos]!;
      let length = buf[pos + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (pos + 4 > buf.length) break;
        length = buf.readUInt16BE(pos + 2);
        header = 4;
      } else if (length === 127) {
        if (pos + 10 > buf.length) break;
        length = Number(buf.readBigUInt64BE(pos + 2));
        header = 10;
      }
      const start = pos + header;
      const end = start + length;
      if (end > buf.length) break;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if (opcode === TEXT || opcode === BINARY || opcode === 0) {
        if (fin && fragments.length === 0) handlers.text(buf, start, end);
        else {
          fragments.push(Buffer.from(buf.subarray(start, end)));
          if (fin) {
            const whole = Buffer.concat(fragments);
            fragments = [];
            handlers.text(whole, 0, whole.length);
          }
        }
      } else if (opcode === PING) {
        socket.write(clientFrame(0xa, Buffer.from(buf.subarray(start, end))));
      } else if (opcode === CLOSE) {
        const code = length >= 2 ? buf.readUInt16BE(start) : 1005;
        handlers.close(code, buf.toString('utf8', start + 2, end));
        return;
      }
      pos = end;
    }
    if (pos < buf.length) carry = Buffer.from(buf.subarray(pos));
  };
}
