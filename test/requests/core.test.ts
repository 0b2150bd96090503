/**
 * The hub's request-reply and presence cores, in process: 10,000 abandoned requests leave no timer,
 * listener or inbox behind; SQLite files written before `replyTo` existed are migrated on open.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../../src/core/hub.js';
import { presenceInfo, presenceInfoText } from '../../src/core/presence.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { createSqliteEngine } from '../../src/engines/sqlite/index.js';

const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

let hub: Hub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('hub.requests', () => {
  it('10,000 abandoned requests (timeouts and aborts) leave no timer, listener or waiting request', async () => {
    const engine = createMemoryEngine();
    await engine.open();
    hub = createHub({ engine });
    const before = timers();
    const aborts = new AbortController();
    let listenersAdded = 0;
    const signal = aborts.signal;
    const add = signal.addEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
      listenersAdded++;
      add(...args);
    }) as AbortSignal['addEventListener'];
    const calls = Array.from({ length: 10_000 }, (_, i) =>
      hub!.requests
        .request(
          'rpc.abandoned',
          { data: String(i) },
          { timeoutMs: 500, signal: i % 2 === 0 ? signal : undefined },
        )
        .then(
          () => 'replied',
          (error: { code: string }) => error.code,
        ),
    );
    expect(hub.requests.pending).toBe(10_000); // each registers before its first await
    await new Promise((resolve) => setTimeout(resolve, 20));
    aborts.abort(); // half the callers go away
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((code) => code === 'timeout')).toBe(true);
    expect(hub.requests.pending).toBe(0);
    expect(listenersAdded).toBe(5_000);
    expect(timers()).toBeLessThanOrEqual(before);
    // Nothing waits any more: a reply to any of them is a conflict, not a delivery.
    const { messages } = await hub.fetch('rpc.abandoned', { after: 0, limit: 1 });
    await expect(hub.requests.respond(messages[0]!.replyTo!, '1')).rejects.toMatchObject({
      code: 'conflict',
    });
  });

  it('answers the first reply, refuses the second (409) and unknown inboxes (404)', async () => {
    const engine = createMemoryEngine();
    await engine.open();
    hub = createHub({ engine });
    const received: string[] = [];
    const subscription = hub.subscribe('rpc.add', {
      onMessage: (message) => {
        received.push(message.replyTo!);
        void hub!.requests.respond(message.replyTo!, '{"sum": 3}');
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const answer = await hub.requests.request('rpc.add', { data: '[1,2]' }, { timeoutMs: 2_000 });
    expect(answer).toMatchObject({ topic: 'rpc.add', offset: 1, reply: '{"sum": 3}' });
    expect(received).toEqual([answer.replyTo]);
    await expect(hub.requests.respond(answer.replyTo, '1')).rejects.toMatchObject({ code: 'conflict' });
    await expect(hub.requests.respond('_inbox.AAAAAAAAAAAAAAAAAAAAAAAA', '1')).rejects.toMatchObject({
      code: 'not_found',
    });
    subscription.unsubscribe();
  });
});

describe('presence info rules', () => {
  it('accepts objects up to 1 KiB and refuses everything else with 400', () => {
    expect(presenceInfo({ a: 1 })).toBe('{"a":1}');
    expect(presenceInfo(undefined)).toBeUndefined();
    expect(presenceInfoText('{"name":"Ada"}')).toBe('{"name":"Ada"}');
    for (const bad of [null, [1], 'x', 5, { big: 'x'.repeat(1_024) }]) {
      expect(() => presenceInfo(bad)).toThrow(expect.objectContaining({ code: 'bad_request' }));
    }
    for (const bad of ['nope', '[]', '"s"', `{"a":"${'x'.repeat(1_100)}"}`]) {
      expect(() => presenceInfoText(bad)).toThrow(expect.objectContaining({ code: 'bad_request' }));
    }
  });
});

describe('SQLite files from before request-reply', () => {
  it('gain the reply_to column on open and keep their messages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-migrate-'));
    try {
      // The messages table as the first schema wrote it (no reply_to), with one message.
      const old = new Database(join(dir, 'switchboard.db'));
      old.exec(`CREATE TABLE topics (name TEXT PRIMARY KEY, epoch TEXT NOT NULL, floor INTEGER NOT NULL DEFAULT 0,
                  last INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
                CREATE TABLE messages (topic TEXT NOT NULL, offset INTEGER NOT NULL, time INTEGER NOT NULL,
                  event TEXT, data TEXT NOT NULL, PRIMARY KEY (topic, offset)) WITHOUT ROWID;
                INSERT INTO topics VALUES ('rpc', 'e1', 0, 1);
                INSERT INTO messages VALUES ('rpc', 1, 1000, NULL, '"old"');
                PRAGMA user_version = 1;`);
      old.close();
      const engine = createSqliteEngine({ dataDir: dir });
      await engine.open();
      hub = createHub({ engine });
      const pending = hub.requests.request('rpc', { data: '"new"' }, { timeoutMs: 2_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const page = await hub.fetch('rpc', { after: 0, limit: 10 });
      expect(page.messages.map((m) => [m.offset, m.data, m.replyTo])).toEqual([
        [1, '"old"', undefined],
        [2, '"new"', expect.stringMatching(/^_inbox\./)],
      ]);
      await hub.requests.respond(page.messages[1]!.replyTo!, 'true');
      expect((await pending).reply).toBe('true');
    } finally {
      await hub?.close();
      hub = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
