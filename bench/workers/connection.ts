/**
 * What every subscriber connection in a worker shares: the sink it reports deliveries to, reading the
 * publisher's `bench_t` stamp out of raw bytes, and a bare HTTP/1.1 request on a TCP socket.
 *
 * Why raw sockets and not `ws`/undici for the push subscribers: the fan-out floor reaches ~1M
 * deliveries/s with 2 cores shared between server and clients, and with `ws`/undici clients the two
 * worker processes used a full core at ~500k/s — the client, not the server, set the number. A
 * minimal frame/chunk parser costs a fraction of that, so the server under test stays the bottleneck.
 */
import { connect, type Socket } from 'node:net';

export interface Connection {
  /** messages delivered on this connection */
  count: number;
  alive: boolean;
  close(): void;
}

export interface Sink {
  delivered(connection: Connection, latencyUs: number | undefined): void;
  control(connection: Connection): void;
  lost(connection: Connection, code: number, reason: string): void;
  /** A long poll answered with no messages after waiting `waitedMs`. */
  emptyWait(connection: Connection, waitedMs: number): void;
}

export interface ConnectionOptions {
  url: string;
  topic: string;
  after: number | undefined;
  latency: boolean;
  /** JWT for a server run with `--auth token`, sent as `?token=` */
  token?: string | undefined;
}

/** Thrown when the endpoint is missing (404, upgrade refused): the scenario is skipped, not failed. */
export class UnavailableError extends Error {}

const BENCH_T = Buffer.from('"bench_t":');

/** Reads the integer after `"bench_t":` within buf[start, end); NaN when absent. */
export function readBenchT(buf: Buffer, start: number, end: number): number {
  const at = buf.indexOf(BENCH_T, start);
  if (at === -1 || at >= end) return Number.NaN;
  let value = 0;
  for (let i = at + BENCH_T.length; i < end; i++) {
    const digit = buf[i]! - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  return value;
}

export interface RawResponse {
  socket: Socket;
  status: number;
  /** lower-case header names */
  headers: Map<string, string>;
  /** bytes that arrived after the head */
  rest: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Sends a request head on a new TCP connection and resolves with the parsed response head. */
export function rawRequest(
  baseUrl: string,
  head: (host: string) => string,
  timeoutMs = 30_000,
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`no response head in ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      received = received.length ? Buffer.concat([received, chunk]) : chunk;
      const end = received.indexOf(HEAD_END);
      if (end === -1) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      const lines = received.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]!.split(' ')[1]);
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      resolve({ socket, status, headers, rest: received.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', fail);
    socket.once('connect', () => socket.write(head(url.host)));
  });
}
