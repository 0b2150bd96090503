/**
 * The real server process (SQLite): members claim and ack over HTTP, the server is killed with
 * SIGKILL mid-stream and restarted on the same data directory, and the members finish. At least
 * once: an offset whose ack was answered is never delivered again; unanswered ones may be. Every
 * message ends acked or dead-lettered. Needs dist/ (`npm test` builds it first).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ServerProcess, spawnServer } from '../support/process.js';

const MESSAGES = 300;
const isPoison = (offset: number) => offset % 50 === 13;

let dataDir: string;
let running: ServerProcess | undefined;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-groups-kill-'));
});
afterEach(async () => {
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const postJson = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('consumer group across kill -9 (sqlite process)', () => {
  it('redelivers no acknowledged ack and ends with every message acked or dead-lettered', async () => {
    running = await spawnServer(['--data-dir', dataDir]);
    let base = `${running.url}/v1/topics/crash`;
    for (let i = 0; i < MESSAGES; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => ({ data: { n: i + j + 1 } }));
      expect((await postJson(`${base}/messages`, batch)).status).toBe(201);
    }
    const created = await fetch(`${base}/groups/g`, { method: 'PUT' });
    expect(created.status).toBe(201);

    /** Offsets whose ack the server answered with 200, and how often. */
    const confirmed = new Map<number, number>();
    /** Acks sent whose answer never came (the server died): they may or may not have landed. */
    const inDoubt = new Set<number>();
    const violations: string[] = [];

    const member = async (name: string): Promise<void> => {
      for (;;) {
        let offsets: number[];
        try {
          const response = await fetch(`${base}/groups/g/claim?max=4&wait=1&leaseMs=1000&member=${name}`, {
            method: 'POST',
          });
          const body = (await response.json()) as { messages: Array<{ offset: number }> };
          offsets = body.messages.map((m) => m.offset);
        } catch {
          return; // the server died
        }
        if (offsets.length === 0) return; // nothing left to claim
        for (const offset of offsets) {
          if (confirmed.has(offset))
            violations.push(`${offset} delivered to ${name} after its ack was answered`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10)); // "processing", so the kill lands mid-stream
        const poison = offsets.filter(isPoison);
        const good = offsets.filter((o) => !isPoison(o));
        try {
          if (poison.length > 0)
            await postJson(`${base}/groups/g/nack`, { offsets: poison, member: name, error: 'x' });
          if (good.length === 0) continue;
          for (const offset of good) inDoubt.add(offset);
          const response = await postJson(`${base}/groups/g/ack`, { offsets: good, member: name });
          if (response.status === 200) {
            for (const offset of good) {
              inDoubt.delete(offset);
              confirmed.set(offset, (confirmed.get(offset) ?? 0) + 1);
            }
          } else {
            for (const offset of good) inDoubt.delete(offset);
            violations.push(`ack of ${good} answered ${response.status}: ${await response.text()}`);
          }
        } catch {
          return; // the server died mid-request
        }
      }
    };

    const before = ['a', 'b', 'c', 'd'].map(member);
    await expect.poll(() => confirmed.size, { timeout: 10_000, interval: 5 }).toBeGreaterThan(MESSAGES / 3);
    running.child.kill('SIGKILL');
    expect((await running.exited).signal).toBe('SIGKILL');
    await Promise.all(before);
    expect(confirmed.size).toBeLessThan(MESSAGES);

    running = await spawnServer(['--data-dir', dataDir]);
    base = `${running.url}/v1/topics/crash`;
    const deadline = Date.now() + 15_000;
    let state: { committed: number; pending: number; last: number; deadLettered: number };
    do {
      await Promise.all(['e', 'f', 'g'].map(member));
      state = (await (await fetch(`${base}/groups/g`)).json()) as typeof state;
    } while ((state.committed < MESSAGES || state.pending > 0) && Date.now() < deadline);

    expect(violations).toEqual([]);
    expect(state).toMatchObject({ committed: MESSAGES, pending: 0, last: MESSAGES });
    const dead = (await (await fetch(`${base}.dead-letter/messages?limit=1000`)).json()) as {
      messages: Array<{ data: { offset: number; attempts: number } }>;
    };
    const deadOffsets = dead.messages.map((m) => m.data.offset);
    expect(new Set(deadOffsets).size).toBe(deadOffsets.length);
    expect(state.deadLettered).toBe(deadOffsets.length);
    for (let offset = 1; offset <= MESSAGES; offset++) {
      const acks = confirmed.get(offset) ?? 0;
      expect(acks, `offset ${offset} acked twice`).toBeLessThanOrEqual(1);
      if (isPoison(offset)) {
        expect(deadOffsets, `poison ${offset} dead-lettered`).toContain(offset);
        expect(acks).toBe(0);
      } else {
        // Acked with an answer, or acked just before the kill with the answer lost.
        const ended = acks === 1 || inDoubt.has(offset) || deadOffsets.includes(offset);
        expect(ended, `offset ${offset} must end acked or dead-lettered`).toBe(true);
        if (acks === 1) expect(deadOffsets).not.toContain(offset);
      }
    }
  }, 40_000);
});
