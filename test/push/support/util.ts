import { randomUUID } from 'node:crypto';

/** Parsed wire JSON: the tests check its shape field by field. */
// biome-ignore lint/suspicious/noExplicitAny: frames and answers are arbitrary JSON checked by the tests
export type Json = any;

/** A fresh topic name per test, so tests never see each other's messages. */
export const freshTopic = (prefix = 't'): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Polls `check` until it returns a value other than undefined/false. */
export async function until<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function publishMany(url: string, topic: string, datas: unknown[], event?: string): Promise<Response> {
  return fetch(`${url}/v1/topics/${topic}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(datas.map((data) => (event ? { data, event } : { data }))),
  });
}
