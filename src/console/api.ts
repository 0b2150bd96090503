/**
 * The console's HTTP calls: the stored token on every request, the contract's error JSON turned
 * into a sentence, and the one wording every view uses when a token is missing or not enough.
 */
import { storedToken } from './dom.js';

export interface ApiAnswer<T> {
  ok: boolean;
  status: number;
  body: T;
  /** The contract error's message when not ok. */
  error: string;
}

export async function api<T = unknown>(path: string, init: RequestInit = {}): Promise<ApiAnswer<T>> {
  const headers = new Headers(init.headers);
  const token = storedToken();
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  if (typeof init.body === 'string' && !headers.has('content-type'))
    headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (error) {
    return {
      ok: false,
      status: 0,
      body: undefined as T,
      error: `the server cannot be reached (${(error as Error).message})`,
    };
  }
  const text = response.status === 204 ? '' : await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  const message =
    (body as { error?: { message?: string } } | undefined)?.error?.message ?? response.statusText;
  return { ok: response.ok, status: response.status, body: body as T, error: response.ok ? '' : message };
}

/** What a view shows instead of failing silently when its call was refused. */
export function refusal(answer: ApiAnswer<unknown>, what: string): string {
  if (answer.status === 401) return `${what} needs a token: paste one under “Token” above.`;
  if (answer.status === 403)
    return `${what} is not allowed with this token (${answer.error}). Admin-only views need a token with "admin": true.`;
  return `${what} failed: ${answer.error || `status ${answer.status}`}`;
}

export const topicPath = (topic: string): string => `/v1/topics/${encodeURIComponent(topic)}`;

/** JSON if it parses, else the text itself (like `Content-Type: text/plain`). */
export function parseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
