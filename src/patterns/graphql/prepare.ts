/**
 * From request text to an executable document, once per distinct query: parse (token-limited),
 * cost limits, schema validation. Results are cached by query text (bounded), so 1,000 clients
 * subscribing with the same document share one parsed AST — which is also what lets their
 * subscription events share one execution (shared-execution.ts).
 */
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  type OperationTypeNode,
  parse,
  validate,
} from 'graphql';
import { codedError, toGraphqlError } from './errors.js';
import { checkLimits, type GraphqlLimits } from './limits.js';

export interface GraphqlRequest {
  query: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface PreparedOperation {
  document: DocumentNode;
  operation: OperationTypeNode;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
}

export type Prepared =
  | { ok: true; value: PreparedOperation }
  | { ok: false; errors: readonly GraphQLError[] };

/** Documents remembered (by query text); the oldest is forgotten first. */
const CACHE_SIZE = 500;
/** Longer query texts are not cached (they are rare, and would pin memory). */
const CACHE_MAX_QUERY_CHARS = 20_000;

export type Preparer = (request: GraphqlRequest) => Prepared;

export function createPreparer(schema: GraphQLSchema, limits: GraphqlLimits): Preparer {
  const documents = new Map<string, { document: DocumentNode } | { errors: readonly GraphQLError[] }>();

  const analyse = (query: string) => {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: limits.maxTokens, noLocation: false });
    } catch (error) {
      return { errors: [withCode(toGraphqlError(error))] };
    }
    const limitErrors = checkLimits(document, limits);
    if (limitErrors.length > 0) return { errors: limitErrors };
    // Validation stops after 25 errors (graphql's default) so a crafted document cannot make it list thousands.
    const errors = validate(schema, document, undefined, { maxErrors: 25 });
    return errors.length > 0 ? { errors: errors.map(withCode) } : { document };
  };

  const documentOf = (query: string) => {
    const cached = documents.get(query);
    if (cached) {
      documents.delete(query); // re-insert: the Map's order is the LRU order
      documents.set(query, cached);
      return cached;
    }
    const analysed = analyse(query);
    if (query.length <= CACHE_MAX_QUERY_CHARS) {
      documents.set(query, analysed);
      if (documents.size > CACHE_SIZE) documents.delete(documents.keys().next().value!);
    }
    return analysed;
  };

  return (request) => {
    const shape = checkShape(request);
    if (shape) return { ok: false, errors: [shape] };
    const analysed = documentOf(request.query as string);
    if ('errors' in analysed) return { ok: false, errors: analysed.errors };
    const operationName = (request.operationName ?? undefined) as string | undefined;
    const operation = getOperationAST(analysed.document, operationName);
    if (!operation) {
      const message =
        operationName === undefined
          ? 'the document has several operations: name the one to run in operationName'
          : `the document has no operation named "${operationName}"`;
      return { ok: false, errors: [codedError('bad_request', message)] };
    }
    return {
      ok: true,
      value: {
        document: analysed.document,
        operation: operation.operation,
        operationName,
        variables: (request.variables ?? undefined) as Record<string, unknown> | undefined,
      },
    };
  };
}

/** The request's own shape (GraphQL over HTTP §"Request Parameters"). */
function checkShape(request: GraphqlRequest): GraphQLError | undefined {
  if (typeof request.query !== 'string' || request.query.trim() === '') {
    return codedError('bad_request', 'send the GraphQL document as a non-empty string in "query"');
  }
  const { variables, operationName } = request;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return codedError('bad_request', '"variables" must be a JSON object (or null)');
  }
  if (operationName != null && typeof operationName !== 'string') {
    return codedError('bad_request', '"operationName" must be a string (or null)');
  }
  return undefined;
}

/** Syntax and validation errors are the caller's: `bad_request`, keeping where in the document. */
function withCode(error: GraphQLError): GraphQLError {
  if (error.extensions?.code !== undefined) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { code: 'bad_request', status: 400 },
  });
}
