/**
 * Signatures: the server's signing against the Standard Webhooks rules, and the receiver snippet in
 * docs/webhooks.md executed as written — imported as a module, and run as a real receiver process
 * that a real server delivers to.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertSecret,
  generateSecret,
  sign,
  signatureHeaders,
  verifySignature,
} from '../../src/core/webhooks/sign.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { json, post, startServer } from '../support/server.js';

type Verify = (
  secret: string,
  headers: Record<string, unknown>,
  body: string,
  toleranceSeconds?: number,
) => boolean;

const doc = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
const snippet = /<!-- verify-webhook\.mjs -->\n```js\n([\s\S]*?)```/.exec(doc)?.[1];

describe('signing', () => {
  it('signs id.timestamp.body with the decoded secret, as Standard Webhooks specifies', () => {
    const secret = `whsec_${Buffer.from('a-32-byte-secret-for-the-test!!!').toString('base64')}`;
    const mac = createHmac('sha256', Buffer.from('a-32-byte-secret-for-the-test!!!'))
      .update('msg_1.1732250000.{"a":1}')
      .digest('base64');
    expect(sign(secret, 'msg_1', 1732250000, '{"a":1}')).toBe(`v1,${mac}`);
    const headers = signatureHeaders(secret, 'msg_1', '{"a":1}', 1732250000_123);
    expect(headers).toEqual({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1732250000',
      'webhook-signature': `v1,${mac}`,
    });
    expect(verifySignature(secret, headers, '{"a":1}', { nowMs: 1732250000_000 })).toBe(true);
    expect(verifySignature(secret, headers, '{"a":2}', { nowMs: 1732250000_000 })).toBe(false);
    expect(verifySignature(secret, headers, '{"a":1}', { nowMs: 1732250000_000 + 600_000 })).toBe(false);
  });

  it('generates standard secrets and refuses malformed ones', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(assertSecret(secret)).toBe(secret);
    for (const bad of ['secret', 'whsec_', 'whsec_c2hvcnQ=', `whsec_${'!'.repeat(40)}`, 42]) {
      expect(() => assertSecret(bad)).toThrow(/whsec_/);
    }
  });
});

describe('the receiver snippet in docs/webhooks.md', () => {
  let dir: string;
  let verifyWebhook: Verify;
  beforeAll(async () => {
    expect(snippet, 'docs/webhooks.md must keep its <!-- verify-webhook.mjs --> block').toBeDefined();
    dir = mkdtempSync(join(tmpdir(), 'switchboard-snippet-'));
    writeFileSync(join(dir, 'verify-webhook.mjs'), snippet!);
    ({ verifyWebhook } = (await import(pathToFileURL(join(dir, 'verify-webhook.mjs')).href)) as {
      verifyWebhook: Verify;
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts what the server signs and refuses tampering, other secrets and old timestamps', () => {
    const secret = generateSecret();
    const body = '{"topic":"orders","offset":1,"time":1,"data":{"n":1}}';
    const headers = signatureHeaders(secret, 'wh_x_e_1', body, Date.now());
    expect(verifyWebhook(secret, headers, body)).toBe(true);
    expect(
      verifyWebhook(
        secret,
        { ...headers, 'webhook-signature': `v1,bogus ${headers['webhook-signature']}` },
        body,
      ),
    ).toBe(true);
    expect(verifyWebhook(secret, headers, body.replace('1}}', '2}}'))).toBe(false);
    expect(verifyWebhook(generateSecret(), headers, body)).toBe(false);
    expect(verifyWebhook(secret, { ...headers, 'webhook-id': 'wh_x_e_2' }, body)).toBe(false);
    const old = signatureHeaders(secret, 'wh_x_e_1', body, Date.now() - 3_600_000);
    expect(verifyWebhook(secret, old, body)).toBe(false);
    expect(verifyWebhook(secret, {}, body)).toBe(false);
  });

  it('runs as a receiver that verifies real deliveries', async () => {
    const server = await startServer(
      { name: 'memory', create: createMemoryEngine, cleanup() {} },
      { allowPrivateWebhooks: true },
    );
    let receiver: ChildProcess | undefined;
    try {
      const secret = generateSecret();
      receiver = spawn(process.execPath, [join(dir, 'verify-webhook.mjs')], {
        env: { ...process.env, WEBHOOK_SECRET: secret, PORT: '0' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      const waitFor = (pattern: RegExp) =>
        new Promise<RegExpExecArray>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`receiver printed: ${output}`)), 5_000);
          const check = (): void => {
            const match = pattern.exec(output);
            if (!match) return;
            clearTimeout(timer);
            receiver!.stdout!.off('data', onData);
            resolve(match);
          };
          const onData = (chunk: Buffer): void => {
            output += chunk.toString();
            check();
          };
          receiver!.stdout!.on('data', onData);
          check();
        });
      const port = (await waitFor(/listening on port (\d+)/))[1];
      const created = await post(`${server.url}/v1/topics/snippet/webhooks`, {
        url: `http://127.0.0.1:${port}/`,
        secret,
      });
      const webhook = await json(created);
      await post(`${server.url}/v1/topics/snippet/messages`, { data: { hello: 'receiver' } });
      const [, id, body] = await waitFor(/verified (\S+): (.+)\n/);
      expect(id).toMatch(new RegExp(`^${webhook.id}_`));
      expect(JSON.parse(body!).data).toEqual({ hello: 'receiver' });
      await expect
        .poll(async () => (await json(await fetch(`${server.url}/v1/webhooks/${webhook.id}`))).delivered)
        .toBe(1);
    } finally {
      receiver?.kill();
      await server.close();
    }
  });
});
