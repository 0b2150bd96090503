/**
 * GraphQL errors carry the contract's code in `extensions.code` (and the HTTP status it stands for
 * in `extensions.status`), so a GraphQL client branches on the same words as every other door.
 * Resolvers throw the core's SwitchboardError; anything else is an internal failure whose details
 * stay in the server log.
 */
import {
  type ExecutionResult,
  type FormattedExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
} from 'graphql';
import { ERROR_STATUS, type ErrorCode, isSwitchboardError } from '../../protocol/errors.js';

export interface CodedExtensions {
  code: ErrorCode;
  status: number;
  retryAfterMs?: number;
}

/** A GraphQL error with a contract code (validation, limits, request shape). */
export function codedError(
  code: ErrorCode,
  message: string,
  options: { nodes?: GraphQLError['nodes'] } = {},
) {
  const extensions: CodedExtensions = { code, status: ERROR_STATUS[code] };
  return new GraphQLError(message, { nodes: options.nodes, extensions: { ...extensions } });
}

/** The contract code of a GraphQL error: its own, its cause's, else `bad_request` (syntax, validation). */
function codeOf(error: GraphQLError): CodedExtensions {
  const original = error.originalError;
  if (isSwitchboardError(original)) {
    return {
      code: original.code,
      status: original.status,
      ...(original.retryAfterMs === undefined ? {} : { retryAfterMs: original.retryAfterMs }),
    };
  }
  const own = error.extensions?.code;
  if (typeof own === 'string' && own in ERROR_STATUS) {
    return { code: own as ErrorCode, status: ERROR_STATUS[own as ErrorCode] };
  }
  // A resolver (an error with a path) failed with something that is not a contract error: a bug
  // or a store failure. Without a path it is input coercion (variables), which is the caller's.
  if (original != null && error.path !== undefined && !(original instanceof GraphQLError)) {
    return { code: 'unavailable', status: 503 };
  }
  return { code: 'bad_request', status: 400 };
}

export function formatError(error: GraphQLError): GraphQLFormattedError {
  const coded = codeOf(error);
  const internal = coded.code === 'unavailable' && !isSwitchboardError(error.originalError);
  return {
    message: internal ? 'internal error; retry shortly (the server log has the details)' : error.message,
    ...(error.locations ? { locations: error.locations } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: { ...error.extensions, ...coded },
  };
}

export function formatErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[] {
  return errors.map(formatError);
}

/** An execution result as it goes on the wire: every error formatted with its code. */
export function formatResult(result: ExecutionResult): FormattedExecutionResult {
  if (!result.errors) return result as FormattedExecutionResult;
  const { errors, ...rest } = result;
  return { ...rest, errors: formatErrors(errors) } as FormattedExecutionResult;
}

/** A SwitchboardError (or anything thrown) as a GraphQL error keeping the cause for `formatError`. */
export function toGraphqlError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GraphQLError(message, { originalError: error instanceof Error ? error : new Error(message) });
}
