/** Subscription results are executed once per event for all subscribers of one document and variables. */
import { buildSchema, type GraphQLObjectType, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createSharedSubscribe } from '../../src/patterns/graphql/shared-execution.js';

describe('shared subscription execution', () => {
  it('executes each event once per (document, variables), and again for other variables', async () => {
    const schema = buildSchema(
      'type Query { x: Int } type Event { n: Int, label(p: String): String } type Subscription { tick: Event }',
    );
    const events = [{ n: 1 }, { n: 2 }];
    let executions = 0;
    const subscriptionFields = (schema.getType('Subscription') as GraphQLObjectType).getFields();
    subscriptionFields.tick!.subscribe = async function* () {
      yield* events; // the same objects for every subscriber, as the hub's feed hands them out
    };
    subscriptionFields.tick!.resolve = (event) => event;
    (schema.getType('Event') as GraphQLObjectType).getFields().label!.resolve = (event, args) => {
      executions++;
      return `${args.p}-${(event as { n: number }).n}`;
    };
    const document = parse('subscription ($p: String) { tick { n label(p: $p) } }');
    const subscribe = createSharedSubscribe();
    const run = async (p: string) => {
      const stream = (await subscribe({ schema, document, variableValues: { p } })) as AsyncIterable<unknown>;
      const results = [];
      for await (const result of stream) results.push(result);
      return results;
    };
    const [a, b] = await Promise.all([run('x'), run('x')]);
    expect(a).toEqual([
      { data: { tick: { n: 1, label: 'x-1' } } },
      { data: { tick: { n: 2, label: 'x-2' } } },
    ]);
    expect(b).toEqual(a);
    expect(b[0]).toBe(a[0]); // one result object, shared
    expect(executions).toBe(2);
    const c = await run('y');
    expect(c[1]).toEqual({ data: { tick: { n: 2, label: 'y-2' } } });
    expect(executions).toBe(4);
  });
});
