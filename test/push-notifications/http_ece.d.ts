/** The part of http_ece (no published types) the push tests use to decrypt deliveries. */
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto';

  interface DecryptParams {
    version: 'aes128gcm' | 'aesgcm' | 'aesgcm128';
    privateKey?: ECDH;
    authSecret?: string | Buffer;
    dh?: string | Buffer;
    key?: string | Buffer;
  }
  const ece: {
    decrypt(buffer: Buffer, params: DecryptParams): Buffer;
    encrypt(buffer: Buffer, params: DecryptParams & { dh: string | Buffer }): Buffer;
  };
  export default ece;
}
