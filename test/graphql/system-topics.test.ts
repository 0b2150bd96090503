/**
 * The reserved-topic contract (test/security/system-topics-support.ts) at the GraphQL door: the
 * `publish` mutation refuses system topics with a GraphQL error whose `extensions.code` is
 * `forbidden`, over plain GraphQL-over-HTTP POSTs.
 */
import {
  type DoorOutcome,
  describeSystemTopicContract,
  type SystemTopicDoor,
} from '../security/system-topics-support.js';

const PUBLISH = 'mutation ($topic: String!, $data: JSON) { publish(topic: $topic, data: $data) { offset } }';

const graphqlPublish: SystemTopicDoor = {
  name: 'GraphQL publish mutation',
  async write(target, topic): Promise<DoorOutcome> {
    const response = await fetch(`${target.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
      body: JSON.stringify({ query: PUBLISH, variables: { topic, data: { status: 'succeeded' } } }),
    });
    const body = (await response.json()) as {
      data?: unknown;
      errors?: Array<{ message: string; extensions?: { code?: string } }>;
    };
    const error = body.errors?.[0];
    if (!error) return { code: undefined, message: 'accepted' };
    return { code: error.extensions?.code ?? `(no code, status ${response.status})`, message: error.message };
  },
};

describeSystemTopicContract([graphqlPublish]);
