/**
 * The contract's error codes as gRPC statuses: one status per code, and the code itself in the
 * `switchboard-error-code` trailer so clients can branch on it exactly as on the HTTP JSON body
 * (docs/grpc.md has the table).
 */
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { type ErrorCode, isSwitchboardError, type SwitchboardError } from '../../protocol/errors.js';

export const ERROR_CODE_TRAILER = 'switchboard-error-code';
/** Only with `rate_limited`: how long to wait before retrying, ms (HTTP's Retry-After). */
export const RETRY_AFTER_TRAILER = 'switchboard-retry-after-ms';
/** Only when a stream ended early (slow consumer, shutdown): the offset to resume after. */
export const RESUME_AFTER_TRAILER = 'switchboard-resume-after';
/** With `switchboard-resume-after`: the epoch that offset belongs to. */
export const RESUME_EPOCH_TRAILER = 'switchboard-resume-epoch';

export const GRPC_STATUS: Readonly<Record<ErrorCode, status>> = {
  bad_request: status.INVALID_ARGUMENT,
  unauthorized: status.UNAUTHENTICATED,
  forbidden: status.PERMISSION_DENIED,
  not_found: status.NOT_FOUND,
  conflict: status.FAILED_PRECONDITION,
  payload_too_large: status.RESOURCE_EXHAUSTED,
  unsupported_media_type: status.INVALID_ARGUMENT,
  rate_limited: status.RESOURCE_EXHAUSTED,
  insufficient_storage: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  timeout: status.DEADLINE_EXCEEDED,
};

export type GrpcError = Partial<ServiceError> & { code: status; details: string; metadata: Metadata };

/** A contract error as a gRPC error with the code trailer (plus extra trailers, e.g. a resume hint). */
export function contractStatus(error: SwitchboardError, extra: Record<string, string> = {}): GrpcError {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_TRAILER, error.code);
  if (error.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_TRAILER, String(error.retryAfterMs));
  for (const [key, value] of Object.entries(extra)) metadata.set(key, value);
  return {
    name: 'SwitchboardError',
    message: error.message,
    code: GRPC_STATUS[error.code],
    details: error.message,
    metadata,
  };
}

/** Any thrown value → a gRPC error. Unexpected errors say nothing about internals (INTERNAL). */
export function toGrpcError(error: unknown): GrpcError {
  if (isSwitchboardError(error)) return contractStatus(error);
  const metadata = new Metadata();
  return {
    name: 'Error',
    message: 'internal error',
    code: status.INTERNAL,
    details: 'internal error; the server logged it',
    metadata,
  };
}
