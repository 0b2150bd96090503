/**
 * Errors the SDK throws. Server answers keep the contract's `SwitchboardError` (same class the
 * server throws, from `protocol/errors.ts`) with the method and URL appended to its message; what
 * goes wrong on the client's side of the wire is a `SwitchboardClientError` subclass that names the
 * transport and URL (`websocket to ws://…/v1/ws closed 1006 before open`) and keeps the `cause`.
 */
import { ERROR_STATUS, type ErrorCode, isSwitchboardError, SwitchboardError } from '../protocol/errors.js';

export { isSwitchboardError, SwitchboardError };

export interface ClientErrorOptions extends ErrorOptions {
  url?: string | undefined;
  /** `websocket`, `sse`, `longpoll`, `poll` or `http` (publish, fetch, groups, jobs). */
  transport?: string | undefined;
}

export class SwitchboardClientError extends Error {
  override name: string = 'SwitchboardClientError';
  readonly url: string | undefined;
  readonly transport: string | undefined;

  constructor(message: string, options: ClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.url = options.url;
    this.transport = options.transport;
  }
}

/** The connection could not be opened, broke, or the server sent something that is not the protocol. */
export class TransportError extends SwitchboardClientError {
  override name = 'TransportError';
  /** WebSocket close code, or an SSE `close` event's code, when there was one. */
  readonly closeCode: number | undefined;

  constructor(message: string, options: ClientErrorOptions & { closeCode?: number } = {}) {
    super(message, options);
    this.closeCode = options.closeCode;
  }
}

/** The client (or its connection) was closed while the operation was waiting. */
export class ConnectionClosedError extends SwitchboardClientError {
  override name = 'ConnectionClosedError';
}

/** No answer in time. */
export class TimeoutError extends SwitchboardClientError {
  override name = 'TimeoutError';
  readonly timeoutMs: number;

  constructor(message: string, options: ClientErrorOptions & { timeoutMs: number }) {
    super(message, options);
    this.timeoutMs = options.timeoutMs;
  }
}

/** A job ended `failed` or `canceled`; `job` is its last state. */
export class JobFailedError extends SwitchboardClientError {
  override name = 'JobFailedError';
  readonly job: unknown;

  constructor(message: string, job: unknown, options: ClientErrorOptions = {}) {
    super(message, options);
    this.job = job;
  }
}

/**
 * The SwitchboardError a contract error body (`{"error":{"code","message"}}`) stands for, its
 * message ending with where it came from; undefined when `body` is not one.
 */
export function contractError(
  body: unknown,
  where: string,
  retryAfterMs?: number,
): SwitchboardError | undefined {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null | undefined)?.error;
  const code = error?.code;
  if (typeof code !== 'string' || typeof error?.message !== 'string' || !Object.hasOwn(ERROR_STATUS, code)) {
    return undefined;
  }
  return new SwitchboardError(code as ErrorCode, `${error.message} (${where})`, { retryAfterMs });
}

/** The SwitchboardError of an HTTP error answer, or undefined when its body is not the contract's. */
export function answerError(
  status: number,
  headers: Headers,
  text: string,
  where: string,
): SwitchboardError | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const retryAfter = Number(headers.get('retry-after'));
  return contractError(body, `${where} → ${status}`, retryAfter > 0 ? retryAfter * 1000 : undefined);
}

/**
 * WebSocket close codes the client acts on, equal to `CloseCode` in protocol/ws.ts (a test checks
 * it). Not imported from there: that module's op tables would ride into the browser bundle.
 */
export const CLOSE_NORMAL = 1000;
export const CLOSE_UNAUTHORIZED = 4401;

/** Codes worth trying again later: the server was busy, shutting down or slow. */
const RETRYABLE_CODES = new Set<ErrorCode>(['unavailable', 'rate_limited', 'timeout']);

/**
 * Whether an operation may be repeated after this error. Transport failures, closed connections and
 * timeouts may succeed on another try; of the server's answers only busy/slow ones may.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ConnectionClosedError) return false;
  if (error instanceof SwitchboardClientError)
    return error instanceof TransportError || error instanceof TimeoutError;
  return isSwitchboardError(error) && RETRYABLE_CODES.has((error as SwitchboardError).code);
}

/** The token is missing, invalid or expired: ask `getToken` for a new one before retrying. */
export function isUnauthorized(error: unknown): boolean {
  if (error instanceof TransportError) return error.closeCode === CLOSE_UNAUTHORIZED;
  return isSwitchboardError(error) && (error as SwitchboardError).code === 'unauthorized';
}

/** A refusal that will not change by retrying with the same request (bad name, forbidden, …). */
export function isRefusal(error: unknown): error is SwitchboardError {
  return isSwitchboardError(error) && !isRetryable(error) && !isUnauthorized(error);
}
