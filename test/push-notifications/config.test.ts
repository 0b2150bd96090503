/** VAPID settings, the 3,800-byte rule at its edge, and encryption of the largest payload. */
import { createECDH, randomBytes } from 'node:crypto';
import ece from 'http_ece';
import { describe, expect, it } from 'vitest';
import { encryptPayload } from '../../src/core/push/encrypt.js';
import { MAX_PAYLOAD_BYTES, pushPayload, retryAfterMs } from '../../src/core/push/send.js';
import { generateVapidKeys } from '../../src/core/push/vapid.js';
import { messageJson } from '../../src/core/wire-json.js';
import { resolveConfig } from '../../src/server/config.js';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { json, startServer } from '../support/server.js';

describe('VAPID settings', () => {
  it('refuses half a pair, a mismatched pair and a bad subject', () => {
    const a = generateVapidKeys();
    const b = generateVapidKeys();
    expect(() => resolveConfig({}, { SWITCHBOARD_VAPID_PUBLIC_KEY: a.publicKey })).toThrow(/both/);
    expect(() =>
      resolveConfig(
        {},
        { SWITCHBOARD_VAPID_PUBLIC_KEY: a.publicKey, SWITCHBOARD_VAPID_PRIVATE_KEY: b.privateKey },
      ),
    ).toThrow(/does not belong/);
    expect(() => resolveConfig({ vapidSubject: 'me@example.com' }, {})).toThrow(/mailto/);
    expect(resolveConfig({}, { SWITCHBOARD_PUSH_RETRY_SCHEDULE_MS: '10,20' }).pushRetryScheduleMs).toEqual([
      10, 20,
    ]);
  });

  it('serves the configured public key', async () => {
    const keys = generateVapidKeys();
    const fixture = ENGINE_FIXTURES.find((f) => f.name === 'memory')!.fixture();
    const server = await startServer(fixture, {
      vapidPublicKey: keys.publicKey,
      vapidPrivateKey: keys.privateKey,
    });
    try {
      expect((await json(await fetch(`${server.url}/v1/push/vapid-public-key`))).publicKey).toBe(
        keys.publicKey,
      );
    } finally {
      await server.close();
    }
  });
});

describe('payloads', () => {
  const message = (size: number) => {
    const base = { topic: 't', offset: 9, time: 1, event: undefined, data: '""' };
    const overhead = messageJson(base).length - 2;
    return { ...base, data: JSON.stringify('x'.repeat(size - overhead - 2)) };
  };

  it('sends the message up to 3,800 bytes and a stub past it', () => {
    expect(pushPayload(message(MAX_PAYLOAD_BYTES)).length).toBe(MAX_PAYLOAD_BYTES);
    expect(JSON.parse(pushPayload(message(MAX_PAYLOAD_BYTES + 1)).toString())).toEqual({
      topic: 't',
      offset: 9,
      truncated: true,
    });
  });

  it('encrypts the largest payload into one record under 4,096 bytes that http_ece decrypts', () => {
    const browser = createECDH('prime256v1');
    browser.generateKeys();
    const auth = randomBytes(16);
    const plaintext = pushPayload(message(MAX_PAYLOAD_BYTES));
    const body = encryptPayload(plaintext, { p256dh: browser.getPublicKey(), auth });
    expect(body.length).toBeLessThanOrEqual(4_096);
    const opened = ece.decrypt(body, { version: 'aes128gcm', privateKey: browser, authSecret: auth });
    expect(opened.equals(plaintext)).toBe(true);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('3', 0)).toBe(3_000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
  });
});
