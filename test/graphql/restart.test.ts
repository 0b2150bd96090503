/**
 * The real server process (SQLite) killed with SIGKILL mid-subscription: a graphql-ws client
 * resumes on the restarted server with `after` = the last offset it received and gets exactly the
 * rest, no gap and no duplicate, including what was acknowledged just before the kill.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnServer } from '../support/process.js';
import { collect, gql, type Json, restPublish, SUBSCRIBE_MESSAGES, wsClient } from './support.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-graphql-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('GraphQL subscription resume across a SIGKILL', () => {
  it('resumes by after on the restarted server with no gap and no duplicate', async () => {
    const first = await spawnServer(['--data-dir', dataDir]);
    const client = wsClient(first.url);
    const sub = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: 'crash.g', after: 0 } }, sink),
    );
    for (let i = 1; i <= 3; i++) {
      const answer = await gql(first.url, `mutation { publish(topic: "crash.g", data: ${i}) { offset } }`);
      expect(answer.body.data.publish.offset).toBe(i);
    }
    await sub.until(3);
    const received = sub.results.map((r: Json) => r.data.messages.offset);
    // Acknowledged, possibly not yet delivered when the process dies.
    await restPublish(first.url, 'crash.g', 4);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    await sub.ended();
    await client.dispose();
    const second = await spawnServer(['--data-dir', dataDir]);
    try {
      await restPublish(second.url, 'crash.g', 5);
      const resumed = wsClient(second.url);
      const after = received.at(-1);
      const rest = collect((sink) =>
        resumed.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: 'crash.g', after } }, sink),
      );
      await rest.until(5 - after);
      const offsets = [...received, ...rest.results.map((r: Json) => r.data.messages.offset)];
      expect(offsets).toEqual([1, 2, 3, 4, 5].slice(0, offsets.length));
      expect(offsets).toHaveLength(5);
      expect(rest.results.at(-1).data.messages).toMatchObject({ offset: 5, data: 5 });
      await resumed.dispose();
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
  }, 60_000); // two process starts: about 2 s each on an idle machine, far more on a loaded one
});
