/**
 * Delayed delivery in token mode (scheduling is publishing; listing and reading a schedule need
 * subscribe on its topic, canceling needs publish on it), the scheduled-messages gauge, and an
 * SQLite file from before schedules (schema 3) opening with its data and gaining the tables.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newScheduleId } from '../../src/core/schedule-rules.js';
import { createSqliteEngine } from '../../src/engines/sqlite/index.js';
import { bearer, errorCode, jsonHeaders, mint, startTokenServer } from '../security/support.js';
import type { TestServer } from '../support/server.js';

describe('delayed delivery in token mode', () => {
  let server: TestServer;
  let producer: string;
  let reader: string;
  let stranger: string;
  beforeAll(async () => {
    server = await startTokenServer({ metricsPublic: true });
    producer = await mint({ sub: 'producer', publish: ['alarms'], subscribe: ['alarms'] });
    reader = await mint({ sub: 'reader', subscribe: ['alarms'] });
    stranger = await mint({ sub: 'stranger', publish: ['other'], subscribe: ['other'] });
  });
  afterAll(() => server.close());

  const call = (method: string, path: string, token?: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: token
        ? bearer(token, body === undefined ? {} : jsonHeaders)
        : body === undefined
          ? {}
          : jsonHeaders,
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('needs publish to schedule, subscribe to list or read, publish on its topic to cancel', async () => {
    const body = { data: 'wake up', delayMs: 60_000 };
    expect((await call('POST', '/v1/topics/alarms/messages', undefined, body)).status).toBe(401);
    expect(await errorCode(await call('POST', '/v1/topics/alarms/messages', reader, body))).toBe('forbidden');
    const scheduled = await call('POST', '/v1/topics/alarms/messages', producer, body);
    expect(scheduled.status).toBe(202);
    const { scheduled: id } = (await scheduled.json()) as { scheduled: string };

    expect((await call('GET', '/v1/scheduled?topic=alarms')).status).toBe(401);
    expect(await errorCode(await call('GET', '/v1/scheduled?topic=alarms', stranger))).toBe('forbidden');
    const listed = await call('GET', '/v1/scheduled?topic=alarms', reader);
    expect(listed.status).toBe(200);
    expect(
      ((await listed.json()) as { scheduled: Array<{ id: string }> }).scheduled.map((s) => s.id),
    ).toEqual([id]);
    expect(await errorCode(await call('GET', `/v1/scheduled/${id}`, stranger))).toBe('forbidden');
    expect((await call('GET', `/v1/scheduled/${id}`, reader)).status).toBe(200);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^switchboard_scheduled_messages 1$/m);

    expect(await errorCode(await call('DELETE', `/v1/scheduled/${id}`, stranger))).toBe('forbidden');
    expect(await errorCode(await call('DELETE', `/v1/scheduled/${id}`, reader))).toBe('forbidden');
    expect((await call('DELETE', `/v1/scheduled/${id}`, producer)).status).toBe(204);
    expect((await call('DELETE', `/v1/scheduled/${id}`, producer)).status).toBe(404);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(
      /^switchboard_scheduled_messages 0$/m,
    );
  });

  it('refuses scheduled publishes to system topics for everyone', async () => {
    const admin = await mint({ sub: 'ops', admin: true, publish: ['>'], subscribe: ['>'] });
    const response = await call('POST', '/v1/topics/alarms.dead-letter/messages', admin, {
      data: 1,
      delayMs: 10,
    });
    expect(response.status).toBe(403);
  });
});

describe('an SQLite file from before delayed delivery', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-schema3-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('opens with its messages and gains the schedule tables', async () => {
    // A schema-3 file: the log tables as version 3 wrote them, no schedule tables.
    const old = new Database(join(dir, 'switchboard.db'));
    old.exec(`
      CREATE TABLE topics (name TEXT PRIMARY KEY, epoch TEXT NOT NULL, floor INTEGER NOT NULL DEFAULT 0,
        last INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      CREATE TABLE messages (topic TEXT NOT NULL, offset INTEGER NOT NULL, time INTEGER NOT NULL, event TEXT,
        data TEXT NOT NULL, PRIMARY KEY (topic, offset)) WITHOUT ROWID;
      INSERT INTO topics VALUES ('old', 'e1', 0, 1);
      INSERT INTO messages VALUES ('old', 1, 1700000000000, NULL, '"kept"');
      PRAGMA user_version = 3;
    `);
    old.close();
    const engine = createSqliteEngine({ dataDir: dir });
    await engine.open();
    try {
      expect((await engine.read('old', 0, 10)).messages.map((m) => m.data)).toEqual(['"kept"']);
      const id = newScheduleId(Date.now());
      await engine.addScheduled(
        {
          id,
          topic: 'old',
          deliverAt: 1,
          createdAt: 1,
          event: undefined,
          data: '2',
          idempotencyKey: undefined,
        },
        600_000,
      );
      expect((await engine.dueScheduled(10, 10)).map((m) => m.id)).toEqual([id]);
    } finally {
      await engine.close();
    }
  });
});
