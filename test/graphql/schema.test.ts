/** The shipped SDL (schema.graphql) is exactly the served schema, and the served one is what the HTTP route shows. */
import { readFileSync } from 'node:fs';
import { buildSchema, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { GraphqlDeps } from '../../src/patterns/graphql/resolvers.js';
import { createGraphqlSchema } from '../../src/patterns/graphql/schema.js';
import { SCHEMA_SDL } from '../../src/patterns/graphql/schema-sdl.js';

const shipped = readFileSync(new URL('../../src/patterns/graphql/schema.graphql', import.meta.url), 'utf8');

describe('GraphQL schema', () => {
  it('schema.graphql equals printSchema of the served schema', () => {
    // Building reads nothing from the hub: the dependencies are only called by resolvers.
    const served = createGraphqlSchema({
      maxQueuedEvents: 1,
      hub: { options: { limits: { maxFetchLimit: 1_000 } } },
    } as unknown as GraphqlDeps);
    // Printed through the same printer, so only the schema counts, not how the file is laid out
    // (biome formats .graphql files; graphql's printer has its own block-string rules).
    expect(printSchema(buildSchema(shipped))).toBe(printSchema(served));
    expect(shipped).toContain('union MessageEvent = Message | Gap | Reset');
  });

  it('has the contract fields', () => {
    for (const text of [
      'scalar JSON',
      'messages(topic: String!, after: Float, epoch: String): MessageEvent!',
      'publish(topic: String!, data: JSON, event: String, idempotencyKey: String): PublishResult!',
      'job(id: ID!): Job!',
    ]) {
      expect(SCHEMA_SDL).toContain(text);
    }
  });
});
