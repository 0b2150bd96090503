/**
 * RFC 8291 message encryption for Web Push, with the RFC 8188 `aes128gcm` content coding, in one
 * record: a fresh P-256 key pair and salt per message, ECDH with the browser's `p256dh` key, HKDF
 * keyed by its `auth` secret, AES-128-GCM. Written on node:crypto (no dependency; see docs/push.md)
 * and checked in the tests against `http_ece`, an independent implementation.
 */
import { createCipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';

/** Largest plaintext one 4,096-byte record carries: rs − 16 (tag) − 1 (delimiter). */
const RECORD_SIZE = 4_096;
const KEY_INFO = Buffer.from('WebPush: info\0');
const CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0');
const NONCE_INFO = Buffer.from('Content-Encoding: nonce\0');
const LAST_RECORD = Buffer.from([2]);

export interface BrowserKeys {
  /** 65-byte uncompressed P-256 point. */
  p256dh: Buffer;
  /** 16-byte authentication secret. */
  auth: Buffer;
}

const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer =>
  Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/** The encrypted body: header (salt, record size, sender key) followed by the one record. */
export function encryptPayload(plaintext: Buffer, keys: BrowserKeys): Buffer {
  if (plaintext.length > RECORD_SIZE - 17) throw new RangeError('payload does not fit one record');
  const sender = createECDH('prime256v1');
  const senderPublic = sender.generateKeys();
  const sharedSecret = sender.computeSecret(keys.p256dh);
  const ikm = hkdf(sharedSecret, keys.auth, Buffer.concat([KEY_INFO, keys.p256dh, senderPublic]), 32);
  const salt = randomBytes(16);
  const contentKey = hkdf(ikm, salt, CEK_INFO, 16);
  const nonce = hkdf(ikm, salt, NONCE_INFO, 12);
  const cipher = createCipheriv('aes-128-gcm', contentKey, nonce);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.update(LAST_RECORD), cipher.final()]);
  const header = Buffer.alloc(16 + 4 + 1);
  salt.copy(header, 0);
  header.writeUInt32BE(RECORD_SIZE, 16);
  header.writeUInt8(senderPublic.length, 20);
  return Buffer.concat([header, senderPublic, sealed, cipher.getAuthTag()]);
}
