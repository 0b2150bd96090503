/**
 * The served schema: SCHEMA_SDL (schema-sdl.ts) with the resolvers bound to its fields, the JSON
 * scalar, and the MessageEvent union's type resolution. Built once per server.
 */
import {
  buildSchema,
  GraphQLObjectType,
  type GraphQLScalarType,
  type GraphQLSchema,
  type GraphQLUnionType,
  Kind,
  type ValueNode,
} from 'graphql';
import type { StoredMessage } from '../../engines/engine.js';
import type { FeedEvent } from './event-queue.js';
import { createResolvers, eventTypeName, type GraphqlDeps, messageData } from './resolvers.js';
import { SCHEMA_SDL } from './schema-sdl.js';

export function createGraphqlSchema(deps: GraphqlDeps): GraphQLSchema {
  const schema = buildSchema(SCHEMA_SDL);
  const resolvers = createResolvers(deps);
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!(type instanceof GraphQLObjectType)) throw new Error(`schema has no object type ${typeName}`);
    const defined = type.getFields();
    for (const [name, resolver] of Object.entries(fields)) {
      const field = defined[name];
      if (!field) throw new Error(`schema has no field ${typeName}.${name}`);
      if (typeof resolver === 'function') field.resolve = resolver as typeof field.resolve;
      else {
        field.subscribe = resolver.subscribe as typeof field.subscribe;
        field.resolve = resolver.resolve as typeof field.resolve;
      }
    }
  }
  const messageFields = (schema.getType('Message') as GraphQLObjectType).getFields();
  messageFields.data!.resolve = (message) => messageData(message as StoredMessage);
  (schema.getType('MessageEvent') as GraphQLUnionType).resolveType = (event) =>
    eventTypeName(event as FeedEvent);
  Object.assign(schema.getType('JSON') as GraphQLScalarType, JSON_SCALAR);
  return schema;
}

/** JSON values pass through as they are; literals in a document are read as plain JSON. */
const JSON_SCALAR: Pick<GraphQLScalarType, 'serialize' | 'parseValue' | 'parseLiteral'> = {
  serialize: (value: unknown) => value,
  parseValue: (value: unknown) => value,
  parseLiteral: (node: ValueNode, variables?: Record<string, unknown> | null) => literal(node, variables),
};

function literal(node: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (node.kind) {
    case Kind.NULL:
      return null;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.BOOLEAN:
      return node.value;
    case Kind.LIST:
      return node.values.map((value) => literal(value, variables));
    case Kind.OBJECT:
      return Object.fromEntries(
        node.fields.map((field) => [field.name.value, literal(field.value, variables)]),
      );
    case Kind.VARIABLE:
      return variables?.[node.name.value];
  }
}
