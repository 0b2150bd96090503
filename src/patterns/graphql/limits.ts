/**
 * Cost limits checked before validation and execution, so a hostile document costs little:
 * token count (at parse), depth, aliases and selected fields, with fragments expanded. Introspection
 * is allowed and obeys the same limits (the standard introspection query fits well inside them;
 * `{__schema{types{fields{type{fields{type{…}}}}}}}` does not). Each refusal is a GraphQL error
 * with `extensions.code: "bad_request"` naming the limit.
 */
import { type DocumentNode, type FragmentDefinitionNode, Kind, type SelectionSetNode } from 'graphql';
import { codedError } from './errors.js';

export interface GraphqlLimits {
  /** Most lexical tokens in a document (graphql's parser stops there). @default 5_000 */
  maxTokens: number;
  /** Deepest field nesting, fragments expanded. @default 15 (the standard introspection query needs 13) */
  maxDepth: number;
  /** Most aliased fields in one document. @default 30 */
  maxAliases: number;
  /** Most fields selected, fragments expanded (each spread counts again). @default 1_000 */
  maxFields: number;
}

export const DEFAULT_GRAPHQL_LIMITS: GraphqlLimits = {
  maxTokens: 5_000,
  maxDepth: 15,
  maxAliases: 30,
  maxFields: 1_000,
};

class LimitExceeded extends Error {}

/** The limit errors of `document` (empty when within every limit). */
export function checkLimits(document: DocumentNode, limits: GraphqlLimits) {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  let fields = 0;
  let aliases = 0;
  let deepest = 0;
  // Aliases are counted once per written field; fields and depth per expansion (a fragment spread
  // twice costs twice), stopping as soon as a limit is passed, so the walk itself stays bounded.
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      countAliases(definition.selectionSet);
    }
  }
  const walk = (set: SelectionSetNode, depth: number, path: ReadonlySet<string>): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (++fields > limits.maxFields) throw new LimitExceeded('fields');
        if (depth > deepest) deepest = depth;
        if (deepest > limits.maxDepth) throw new LimitExceeded('depth');
        if (selection.selectionSet) walk(selection.selectionSet, depth + 1, path);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth, path);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // Unknown and cyclic spreads are validation's to report; here they just end the walk.
        if (!fragment || path.has(name)) continue;
        if (++fields > limits.maxFields) throw new LimitExceeded('fields');
        walk(fragment.selectionSet, depth, new Set([...path, name]));
      }
    }
  };
  function countAliases(set: SelectionSetNode): void {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD && selection.alias) aliases++;
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet)
        countAliases(selection.selectionSet);
    }
  }
  try {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION) countAliases(definition.selectionSet);
    }
    if (aliases > limits.maxAliases) {
      return [
        codedError(
          'bad_request',
          `the document has ${aliases} aliases; at most ${limits.maxAliases} are allowed: send several requests instead`,
        ),
      ];
    }
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION) walk(definition.selectionSet, 1, new Set());
    }
  } catch (error) {
    if (!(error instanceof LimitExceeded)) throw error;
    return [
      error.message === 'depth'
        ? codedError(
            'bad_request',
            `the query is nested deeper than ${limits.maxDepth} levels; ask for less at once`,
          )
        : codedError(
            'bad_request',
            `the query selects more than ${limits.maxFields} fields (fragments expanded); ask for less at once`,
          ),
    ];
  }
  return [];
}
