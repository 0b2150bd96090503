/**
 * The contract's error codes and the one error class every layer throws.
 * Both the server and the client SDK import this file, so it has no dependencies.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  insufficient_storage: 507,
  timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export class SwitchboardError extends Error {
  override name = 'SwitchboardError' as const;
  readonly code: ErrorCode;
  /** Only for `rate_limited`: becomes the `Retry-After` header. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export const isSwitchboardError = (value: unknown): value is SwitchboardError =>
  value instanceof SwitchboardError || (value as { name?: unknown } | null)?.name === 'SwitchboardError';

export const badRequest = (message: string): SwitchboardError => new SwitchboardError('bad_request', message);
export const notFound = (message: string): SwitchboardError => new SwitchboardError('not_found', message);
export const conflict = (message: string): SwitchboardError => new SwitchboardError('conflict', message);
export const forbidden = (message: string): SwitchboardError => new SwitchboardError('forbidden', message);
export const payloadTooLarge = (message: string): SwitchboardError =>
  new SwitchboardError('payload_too_large', message);
export const unsupportedMediaType = (message: string): SwitchboardError =>
  new SwitchboardError('unsupported_media_type', message);
export const unavailable = (message: string, cause?: unknown): SwitchboardError =>
  new SwitchboardError('unavailable', message, { cause });
export const unauthorized = (message: string): SwitchboardError =>
  new SwitchboardError('unauthorized', message);
/** Nothing answered in time (request-reply: no reply before the caller's deadline). */
export const timeout = (message: string): SwitchboardError => new SwitchboardError('timeout', message);
/** `retryAfterMs` becomes the `Retry-After` header (whole seconds, at least 1). */
export const rateLimited = (message: string, retryAfterMs: number): SwitchboardError =>
  new SwitchboardError('rate_limited', message, { retryAfterMs: Math.max(1, retryAfterMs) });
