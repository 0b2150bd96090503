/**
 * Helpers for SDK tests: a real server on a free port, a client whose every event is recorded,
 * and polling waits with a clear failure message. Add a recorder field when a test needs one.
 */
import {
  type ConnectOptions,
  connect,
  type Message,
  type StateEvent,
  type SwitchboardClient,
} from '../../src/client/index.js';
import type { CreateServerOptions } from '../../src/server/app.js';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';

export const TRANSPORT_NAMES = ['websocket', 'sse', 'longpoll', 'poll'] as const;

/** Fast reconnects and polls, so tests about resuming take milliseconds, not seconds. */
export const FAST: ConnectOptions = {
  pollIntervalMs: 30,
  reconnect: { minDelayMs: 40, maxDelayMs: 400 },
  longPollWaitSeconds: 5,
};

export function memoryServer(options: CreateServerOptions = {}): Promise<TestServer> {
  return startServer(ENGINE_FIXTURES[0]!.fixture(), options);
}

export interface RecordedClient {
  client: SwitchboardClient;
  states: StateEvent[];
  errors: Error[];
}

export function recordedClient(url: string, options: ConnectOptions = {}): RecordedClient {
  const client = connect(url, { ...FAST, ...options });
  const states: StateEvent[] = [];
  const errors: Error[] = [];
  client.on('state', (event) => states.push(event));
  client.on('error', (error) => errors.push(error));
  return { client, states, errors };
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const offsets = (messages: Message[]): number[] => messages.map((m) => m.offset);

/** 1..n */
export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

export async function publishMany(url: string, topic: string, count: number, start = 0): Promise<void> {
  const body = Array.from({ length: count }, (_, i) => ({ data: { n: start + i } }));
  const response = await fetch(`${url}/v1/topics/${topic}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`publish batch answered ${response.status}: ${await response.text()}`);
}

export const uniqueTopic = (prefix = 't'): string => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
