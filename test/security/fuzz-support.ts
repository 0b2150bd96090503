/**
 * What the fuzz pass checks (the contract's answer shapes) and the inputs it draws. An answer that
 * breaks the contract throws, so fast-check shrinks the input that caused it and prints it.
 */
import fc from 'fast-check';
import { ERROR_CODES, ERROR_STATUS, type ErrorCode } from '../../src/protocol/errors.js';

/** Close codes a server may use (docs/protocol.md, "Close codes"). */
export const CONTRACT_CLOSE_CODES = new Set([1000, 1009, 1012, 4001, 4401, 4403, 4429, 4503]);

const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && (ERROR_CODES as string[]).includes(code);

/** Throws unless `value` is exactly `{"code":…,"message":…}` with a contract code. */
export function assertErrorObject(value: unknown, where: string): ErrorCode {
  const error = value as { code?: unknown; message?: unknown } | null;
  if (typeof error !== 'object' || error === null || Array.isArray(error)) {
    throw new Error(`${where}: error is not an object: ${JSON.stringify(value)}`);
  }
  if (!isErrorCode(error.code)) throw new Error(`${where}: not a contract code: ${JSON.stringify(value)}`);
  if (typeof error.message !== 'string' || error.message === '') {
    throw new Error(`${where}: error message missing or empty: ${JSON.stringify(value)}`);
  }
  return error.code;
}

/**
 * Throws unless the HTTP answer is one of `okStatuses` with a JSON body, or a 4xx whose body is
 * exactly `{"error":{"code","message"}}` and whose status is the one the code stands for. A 5xx is
 * always a finding: the fuzzer only sends what a client could send, never a store failure.
 */
export async function assertContractAnswer(response: Response, okStatuses: number[], where: string) {
  const text = await response.text();
  if (okStatuses.includes(response.status)) {
    if (text !== '') JSON.parse(text);
    return;
  }
  const context = `${where} → ${response.status} ${text.slice(0, 300)}`;
  if (response.status < 400 || response.status >= 500) throw new Error(`unexpected status: ${context}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`error body is not JSON: ${context}`);
  }
  const keys = Object.keys(body as object);
  if (keys.length !== 1 || keys[0] !== 'error') throw new Error(`body is not just {"error"}: ${context}`);
  const error = (body as { error: object }).error;
  if (Object.keys(error).sort().join() !== 'code,message') throw new Error(`extra error fields: ${context}`);
  const code = assertErrorObject(error, context);
  if (ERROR_STATUS[code] !== response.status) throw new Error(`status does not match code: ${context}`);
}

/** Throws unless `frame` (a parsed server frame) is one the protocol defines. */
export function assertServerFrame(frame: unknown, where: string): void {
  const value = frame as Record<string, unknown>;
  const context = `${where}: ${JSON.stringify(frame).slice(0, 300)}`;
  if (typeof value !== 'object' || value === null) throw new Error(`frame is not an object: ${context}`);
  if (['message', 'gap', 'reset'].includes(value.op as string)) {
    if (typeof value.topic !== 'string') throw new Error(`frame without topic: ${context}`);
    return;
  }
  if (value.op !== 'reply') throw new Error(`unknown frame op: ${context}`);
  if (typeof value.id !== 'number' && value.id !== null) throw new Error(`reply id: ${context}`);
  if (value.ok === true) return;
  if (value.ok !== false) throw new Error(`reply without ok: ${context}`);
  const code = assertErrorObject(value.error, context);
  if (code === 'rate_limited' && typeof value.retryAfterMs !== 'number') {
    throw new Error(`rate_limited without retryAfterMs: ${context}`);
  }
}

/** Topic names: valid ones (so deeper code runs), near misses, and anything at all. */
export const topicSegment = fc.oneof(
  fc.constantFrom('fuzz', 'fuzz.a', 'fuzz.dead-letter', 'a.b.c.d.e.f.g.h.i', 'x'.repeat(65), '-', '_'),
  fc.constantFrom('.', '..', 'a..b', '.a', 'a.', '%2F', '%2e%2e', '%00', '%zz', '%', '*', '>', 'a b'),
  fc.string().map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 80 }).map(encodeURIComponent),
);

/** Query values: whole numbers in and out of range, decimals, words, and raw percent escapes. */
const queryValue = fc.oneof(
  fc.integer().map(String),
  fc.bigInt().map(String),
  fc.double().map(String),
  fc.constantFrom('', '0', '-0', '1e3', '0x10', ' 1', '1 ', '+1', '9007199254740993', 'null', '[]'),
  fc.string().map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('%', '%zz', '%00', '%ff', '%2', '%E0%A4%A', '&', '=', '=='),
);

/** `wait` that would hold the request (1..60 s) is turned into 0, so each run stays short. */
const holdsTheRequest = (value: string): boolean =>
  /^-?\d{1,16}$/.test(decodeURIComponentSafe(value)) && Number(decodeURIComponentSafe(value)) > 0;

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** A query string of fetch parameters, repeats and unknown names included. */
export const fetchQuery = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('after', 'limit', 'wait', 'epoch', 'after[]', 'limit[0]', 'token', ''),
        fc.string().map(encodeURIComponent),
      ),
      queryValue,
      fc.boolean(),
    ),
    { maxLength: 6 },
  )
  .map((pairs) =>
    pairs
      .map(([name, value, bare]) => {
        const safe = name === 'wait' && holdsTheRequest(value) ? '0' : value;
        return bare ? name : `${name}=${safe}`;
      })
      .join('&'),
  );

/** Nesting far past the 64 levels the JSON parser allows, as arrays or objects. */
const deepJson = fc
  .tuple(fc.integer({ min: 60, max: 5_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

/** Request bodies: text, JSON (envelopes and not), deep nesting and raw bytes. */
export const requestBody: fc.Arbitrary<string | Uint8Array<ArrayBuffer>> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json(),
  fc.jsonValue().map((data) => JSON.stringify({ data })),
  fc
    .array(
      fc.jsonValue().map((data) => ({ data })),
      { maxLength: 5 },
    )
    .map((list) => JSON.stringify(list)),
  fc
    .record(
      { data: fc.jsonValue(), event: fc.jsonValue(), idempotencyKey: fc.jsonValue(), extra: fc.jsonValue() },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        offsets: fc.oneof(fc.array(fc.integer({ min: -2, max: 20 }), { maxLength: 5 }), fc.jsonValue()),
        member: fc.oneof(fc.constant('fuzzer'), fc.jsonValue()),
        delayMs: fc.jsonValue(),
        error: fc.jsonValue(),
        start: fc.oneof(fc.constantFrom('earliest', 'latest'), fc.jsonValue()),
        maxAttempts: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  deepJson,
  // Copied into a plain ArrayBuffer-backed array, the body type fetch() accepts.
  fc.uint8Array({ maxLength: 200 }).map((bytes) => new Uint8Array(bytes)),
);

/** Content types: the accepted ones, their near misses, and arbitrary header text. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'text/plain',
    'text/plain; charset=latin1',
    'application/vnd.switchboard+json',
    'application/octet-stream',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=',
    ';',
    '',
  ),
  fc.constant(undefined),
  fc.string({ maxLength: 60 }),
);

/**
 * Host headers a DNS-rebinding page could make a browser send, and their near misses: loopback
 * look-alikes with attacker suffixes, short and hex IPv4 forms, trailing dots, mixed case, ports.
 */
export const hostHeader: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(
      '127.0.0.1',
      '127.1',
      '127.0.1',
      '0x7f.1',
      '0x7f000001',
      '2130706433',
      '127.000.0.1',
      '127.255.255.254',
      '128.0.0.1',
      'localhost',
      'localhos',
      '[::1]',
      '[::ffff:127.0.0.1]',
      '[0:0:0:0:0:0:0:1]',
      '::1',
      'example.com',
      '',
    ),
    fc.constantFrom('', '.', '.x.example', '.rebind.attacker.example', '-x', 'x', '..'),
    fc.boolean(),
    fc.constantFrom('', ':8080', ':0', ':', ':65536', ':abc', ':80:80', ':1 '),
  )
  .map(([name, suffix, upper, port]) => `${upper ? (name + suffix).toUpperCase() : name + suffix}${port}`);

/** The Host check's contract, written independently of the server: real loopback literals only. */
export function isRealLoopbackHost(host: string): boolean {
  // HTTP parsers drop the optional whitespace around a header value.
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(host.trim().toLowerCase());
  if (!match) return false;
  const name = match[1]!;
  if (name === 'localhost' || name === '[::1]') return true;
  const parts = name.split('.');
  return (
    parts.length === 4 &&
    parts[0] === '127' &&
    parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)
  );
}

/** `token` as a query parameter name, each character maybe percent-encoded (either hex case), maybe upper-cased. */
export const tokenParamName: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()), { minLength: 5, maxLength: 5 })
  .map((choices) =>
    [...'token']
      .map((char, i) => {
        const [encode, upperHex, upperChar] = choices[i]!;
        const c = upperChar ? char.toUpperCase() : char;
        if (!encode) return c;
        const hex = c.charCodeAt(0).toString(16);
        return `%${upperHex ? hex.toUpperCase() : hex}`;
      })
      .join(''),
  );
