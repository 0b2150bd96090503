/**
 * Subscription execution shared among subscribers: graphql's own `subscribe` executes the
 * selection set once per event *per subscriber*, which is the whole cost of a fan-out. The feed
 * hands every subscriber of a topic the same event object, and prepare.ts hands every client with
 * the same query text the same document, so the result of (event, document, operation, variables)
 * is computed once and reused by all of them (a WeakMap on the event: it goes when the event does).
 *
 * This is sound because the fields under Subscription read only the event, never the context;
 * anything per subscriber (authorization, token expiry) happens when the source stream is created.
 */
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type FormattedExecutionResult,
} from 'graphql';
import { formatError, formatResult, toGraphqlError } from './errors.js';

type Result = FormattedExecutionResult | Promise<FormattedExecutionResult>;

const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

function keyOf(args: ExecutionArgs): string {
  let id = documentIds.get(args.document);
  if (id === undefined) {
    id = ++nextDocumentId;
    documentIds.set(args.document, id);
  }
  return `${id}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
}

export type SharedSubscribe = (
  args: ExecutionArgs,
) => Promise<AsyncGenerator<FormattedExecutionResult> | FormattedExecutionResult>;

export function createSharedSubscribe(): SharedSubscribe {
  const results = new WeakMap<object, Map<string, Result>>();

  const executeOnce = (event: unknown, args: ExecutionArgs, key: string): Result => {
    if (event === null || typeof event !== 'object') return run(args, event);
    let byKey = results.get(event);
    if (!byKey) {
      byKey = new Map();
      results.set(event, byKey);
    }
    let result = byKey.get(key);
    if (result === undefined) {
      result = run(args, event);
      byKey.set(key, result);
    }
    return result;
  };

  return async (args) => {
    let source: AsyncIterable<unknown> | ExecutionResult;
    try {
      source = await createSourceEventStream(args);
    } catch (error) {
      return { errors: [formatError(toGraphqlError(error))] };
    }
    if (!(Symbol.asyncIterator in source)) return formatResult(source);
    const key = keyOf(args);
    return mapStream(source[Symbol.asyncIterator](), (event) => executeOnce(event, args, key));
  };
}

function run(args: ExecutionArgs, event: unknown): Result {
  const result = execute({ ...args, rootValue: event });
  return 'then' in result ? result.then(formatResult) : formatResult(result);
}

/**
 * The source mapped through `map`, written by hand rather than as an async generator: a
 * generator's `return()` waits until its pending `await` settles, which for a quiet topic is
 * never, while this one closes the source at once. A failing source (slow consumer, expired token,
 * store failure) ends the stream with one last result carrying the error and its contract code.
 */
function mapStream(
  source: AsyncIterator<unknown>,
  map: (event: unknown) => Result,
): AsyncGenerator<FormattedExecutionResult> {
  let finished = false;
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  const stream: AsyncGenerator<FormattedExecutionResult> = {
    async next() {
      if (finished) return done;
      try {
        const step = await source.next();
        if (step.done) {
          finished = true;
          return done;
        }
        return { done: false, value: await map(step.value) };
      } catch (error) {
        if (finished) return done;
        finished = true;
        return { done: false, value: { errors: [formatError(toGraphqlError(error))] } };
      }
    },
    async return() {
      finished = true;
      await source.return?.();
      return done;
    },
    async throw(error: unknown) {
      finished = true;
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
