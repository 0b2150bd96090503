/** Small HTTP helpers for the job tests (a worker's and a client's calls). */
import { json, post } from '../support/server.js';

// biome-ignore lint/suspicious/noExplicitAny: answers of many shapes
export type Json = any;

export async function submit(url: string, queue: string, body: Record<string, unknown> = { payload: null }) {
  const response = await post(`${url}/v1/queues/${queue}/jobs`, body);
  return {
    status: response.status,
    location: response.headers.get('location'),
    body: (await json(response)) as Json,
  };
}

export async function claim(url: string, queue: string, waitSeconds = 0) {
  const response = await fetch(`${url}/v1/queues/${queue}/claim?wait=${waitSeconds}`, { method: 'POST' });
  return { status: response.status, body: (response.status === 204 ? null : await json(response)) as Json };
}

export async function act(url: string, id: string, verb: 'progress' | 'complete' | 'fail', body: unknown) {
  const response = await post(`${url}/v1/jobs/${id}/${verb}`, body);
  return { status: response.status, body: (await json(response)) as Json };
}

export async function getJob(url: string, id: string, query = '') {
  const response = await fetch(`${url}/v1/jobs/${id}${query}`);
  return { status: response.status, body: (await json(response)) as Json };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds (for state that settles asynchronously), failing after `timeoutMs`. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

/** Reads an SSE response to its end and splits it into events. */
export async function readEvents(response: Response) {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => /^(id|event|data):/m.test(block))
    .map((block) => {
      const field = (name: string) =>
        block
          .split('\n')
          .filter((line) => line.startsWith(`${name}: `))
          .map((line) => line.slice(name.length + 2));
      return {
        id: field('id')[0],
        event: field('event')[0],
        data: JSON.parse(field('data').join('\n')) as Json,
      };
    });
}
