/**
 * A raw SSE test client over fetch: parses the stream exactly (fields, comments, retry) and buffers
 * every event from the first byte, so `next()` never misses one that arrived before the await.
 * Extend `SseFrame` if a test needs another field.
 */
import type { Json } from './util.js';
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comments: string[];
}

export interface SseClient {
  readonly status: number;
  readonly headers: Headers;
  /** Every complete event block received so far (comment-only and retry-only blocks included). */
  readonly frames: SseFrame[];
  /** Raw text received so far. */
  readonly text: () => string;
  /** Resolves with the first frame (from `from` on) matching `predicate`. */
  next(predicate?: (frame: SseFrame) => boolean, timeoutMs?: number, from?: number): Promise<SseFrame>;
  /** Message events (frames with data and no `event:` or a message event name), parsed. */
  messages(): Json[];
  /** Resolves when the server ends the body. */
  ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const frames: SseFrame[] = [];
  let raw = '';
  let pending = '';
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const wake of [...waiters]) wake();
  };

  const parseBlock = (block: string): void => {
    const frame: SseFrame = { comments: [] };
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        frame.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
      else if (field === 'id') frame.id = value;
      else if (field === 'event') frame.event = value;
      else if (field === 'retry') frame.retry = Number(value);
    }
    frames.push(frame);
  };

  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done: finished, value: bytes } = await reader.read();
        if (finished) break;
        const text = decoder.decode(bytes, { stream: true });
        raw += text;
        pending += text;
        let end = pending.indexOf('\n\n');
        while (end !== -1) {
          parseBlock(pending.slice(0, end));
          pending = pending.slice(end + 2);
          end = pending.indexOf('\n\n');
        }
        notify();
      }
    } catch {
      // aborted by close()
    } finally {
      notify();
    }
  })();
  let done = false;
  ended.then(() => {
    done = true;
    notify();
  });

  return {
    status: response.status,
    headers: response.headers,
    frames,
    text: () => raw,
    ended,
    messages: () =>
      frames
        .filter((f) => f.data !== undefined && (f.event === undefined || !CONTROL.has(f.event)))
        .map((f) => JSON.parse(f.data!)),
    next(predicate = () => true, timeoutMs = 5_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = frames.slice(from).find(predicate);
          if (found) {
            cleanup();
            resolve(found);
            return true;
          }
          if (done) {
            cleanup();
            reject(new Error(`SSE stream ended without the expected frame; got: ${raw.slice(-500)}`));
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching SSE frame within ${timeoutMs} ms; got: ${raw.slice(-500)}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        const wake = (): void => {
          check();
        };
        if (!check()) waiters.add(wake);
      });
    },
    close: () => controller.abort(),
  };
}

const CONTROL = new Set(['ready', 'gap', 'reset', 'close']);

/** Waits until `count` message events arrived (any name), and returns them parsed. */
export async function collectMessages(client: SseClient, count: number, timeoutMs = 5_000): Promise<Json[]> {
  const deadline = Date.now() + timeoutMs;
  while (client.messages().length < count) {
    if (Date.now() > deadline) {
      throw new Error(
        `expected ${count} messages, got ${client.messages().length}: ${client.text().slice(-300)}`,
      );
    }
    await client
      .next(() => client.messages().length >= count, Math.max(1, deadline - Date.now()))
      .catch(() => {});
  }
  return client.messages();
}
