/**
 * A long-polling subscriber (undici): `GET …/messages?after=N&wait=30`, then again from `next`, until
 * closed. Every delivery costs a request, which is the nature of the pattern.
 */
import type { Pool } from 'undici';
import { messagesPath } from '../lib/http.js';
import { monoUs } from '../lib/proc.js';
import { type Connection, type ConnectionOptions, type Sink, UnavailableError } from './connection.js';

interface FetchAnswer {
  messages: Array<{ data?: { bench_t?: number } }>;
  next: number;
}

export function openLongPoll(pool: Pool, options: ConnectionOptions, sink: Sink): Connection {
  const abort = new AbortController();
  const connection: Connection = {
    count: 0,
    alive: true,
    close: () => {
      connection.alive = false;
      abort.abort();
    },
  };
  let cursor = options.after ?? 0;
  const loop = async (): Promise<void> => {
    while (connection.alive) {
      const started = performance.now();
      const response = await pool.request({
        path: `${messagesPath(options.topic)}?after=${cursor}&wait=30&limit=1000`,
        method: 'GET',
        signal: abort.signal,
        ...(options.token === undefined ? {} : { headers: { authorization: `Bearer ${options.token}` } }),
      });
      const text = await response.body.text();
      const now = monoUs();
      if (response.statusCode !== 200) {
        if (response.statusCode === 404) throw new UnavailableError(`HTTP 404: ${text.slice(0, 200)}`);
        sink.lost(connection, response.statusCode, text.slice(0, 200));
        return;
      }
      const answer = JSON.parse(text) as FetchAnswer;
      // An empty answer means the wait ran out; while messages are being published it means the
      // server missed a wake-up (the runner reports it).
      if (answer.messages.length === 0) sink.emptyWait(connection, performance.now() - started);
      for (const message of answer.messages) {
        const sent = message.data?.bench_t;
        sink.delivered(connection, options.latency && typeof sent === 'number' ? now - sent : undefined);
      }
      cursor = answer.next;
    }
  };
  loop().catch((error: Error) => {
    if (!connection.alive) return;
    connection.alive = false;
    sink.lost(connection, 0, error.message);
  });
  return connection;
}
