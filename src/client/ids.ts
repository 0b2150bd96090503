/**
 * Random ids for idempotency keys and group member names. `crypto.getRandomValues` exists in every
 * browser context (unlike `randomUUID`, which needs a secure context) and in Node 20.
 */
export function randomId(prefix = ''): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let text = prefix;
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}
