/**
 * The real server process: kill -9 during concurrent publishing loses no acknowledged message and
 * leaves no hole in the offsets; SIGTERM shuts down gracefully.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnServer } from '../support/process.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-crash-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('switchboard serve (sqlite) as a process', () => {
  it('keeps every acknowledged message, with contiguous offsets, after kill -9 mid-stream', async () => {
    const first = await spawnServer(['--data-dir', dataDir]);
    const acked = new Map<number, string>();
    let stop = false;
    const publisher = async (id: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const payload = `p${id}-${n}`;
        try {
          const response = await fetch(`${first.url}/v1/topics/crash/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ data: payload }),
          });
          if (response.status !== 201) return;
          const { offset } = (await response.json()) as { offset: number };
          acked.set(offset, payload);
        } catch {
          return; // the server died mid-request: this one was never acknowledged
        }
      }
    };
    const publishers = Array.from({ length: 16 }, (_, i) => publisher(i));
    await expect.poll(() => acked.size, { timeout: 10_000 }).toBeGreaterThan(300);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    stop = true;
    await Promise.all(publishers);

    const second = await spawnServer(['--data-dir', dataDir]);
    try {
      const stored = new Map<number, string>();
      let after = 0;
      for (;;) {
        const page = (await (
          await fetch(`${second.url}/v1/topics/crash/messages?after=${after}&limit=1000`)
        ).json()) as {
          messages: Array<{ offset: number; data: string }>;
          next: number;
          last: number;
        };
        for (const m of page.messages) stored.set(m.offset, m.data);
        if (page.messages.length === 0) break;
        after = page.next;
      }
      const offsets = [...stored.keys()];
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i + 1));
      for (const [offset, payload] of acked) expect(stored.get(offset)).toBe(payload);
      expect(stored.size).toBeGreaterThanOrEqual(acked.size);
      // The log goes on from where it stopped.
      const next = await fetch(`${second.url}/v1/topics/crash/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"data":"after restart"}',
      });
      expect(((await next.json()) as { offset: number }).offset).toBe(stored.size + 1);
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
  }, 60_000);

  it('on SIGTERM answers held long polls, closes cleanly and exits 0', async () => {
    const server = await spawnServer(['--data-dir', dataDir]);
    expect(server.output()).toContain('engine: sqlite');
    expect(server.output()).toContain('anyone who can reach this port can publish and subscribe');
    await fetch(`${server.url}/v1/topics/t/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"data":1}',
    });
    const held = fetch(`${server.url}/v1/topics/t/messages?after=1&wait=30`).then((r) => r.json());
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    server.child.kill('SIGTERM');
    expect(await held).toMatchObject({ messages: [], next: 1 });
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5_000);

    const again = await spawnServer(['--data-dir', dataDir]);
    const page = (await (await fetch(`${again.url}/v1/topics/t/messages`)).json()) as { last: number };
    expect(page.last).toBe(1);
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  }, 60_000);

  it('refuses a bad flag with a clear message and exit code 2', async () => {
    await expect(spawnServer(['--engine', 'oracle'])).rejects.toThrow(
      /engine must be memory, sqlite or redis/,
    );
  });
});
