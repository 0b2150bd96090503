/**
 * The GraphQL door's schema as SDL. `schema.graphql` beside this file is the shipped copy (for
 * codegen and IDEs); test/graphql/schema.test.ts keeps it equal to `printSchema` of the served
 * schema. Field names follow the contract's JSON shapes, so a GraphQL client sees the same words.
 */
export const SCHEMA_SDL = `"""Any JSON value, exactly as it was published."""
scalar JSON

type Query {
  """Topics the caller may publish or subscribe to, with their retained range."""
  topics: [Topic!]!

  """One topic's stats, or null when it does not exist."""
  topic(topic: String!): Topic

  """
  Messages after the cursor \`after\` (0 = the beginning of the log), at most \`limit\` (1-1000).
  """
  messages(topic: String!, after: Float = 0, limit: Int = 100, epoch: String): MessagePage!

  """A job as GET /v1/jobs/{id} shows it."""
  job(id: ID!): Job
}

type Mutation {
  """Appends one message; a repeated idempotencyKey answers the original offset with duplicate: true."""
  publish(topic: String!, data: JSON, event: String, idempotencyKey: String): PublishResult!

  """Submits a job to a queue (POST /v1/queues/{queue}/jobs)."""
  submitJob(queue: String!, payload: JSON, callbackUrl: String, idempotencyKey: String, maxAttempts: Int, timeoutMs: Int): JobSubmission!
}

type Subscription {
  """
  The topic's messages after \`after\` (replayed first), then live; without \`after\`, new messages
  only. Resume with the last offset you received. A Gap says retention removed messages you had
  not read; a Reset says the cursor belongs to another log (the topic was recreated).
  """
  messages(topic: String!, after: Float, epoch: String): MessageEvent!

  """A job's status changes, from its first to its terminal state (then the subscription completes)."""
  job(id: ID!): Job!
}

type Topic {
  topic: String!
  epoch: String
  first: Float!
  last: Float!
  count: Float!

  """Live subscribers by transport, e.g. {"websocket": 2, "graphql": 1}."""
  subscribers: JSON!
}

type Message {
  topic: String!
  offset: Float!
  time: Float!
  event: String
  data: JSON
}

"""Messages after \`after\` up to \`next\` were removed by retention before you read them."""
type Gap {
  topic: String!
  after: Float!
  next: Float!
}

"""Your cursor belongs to another log (another epoch, or past its end); delivery restarts at offset 1."""
type Reset {
  topic: String!
  epoch: String
  last: Float!
}

union MessageEvent = Message | Gap | Reset

type MessagePage {
  topic: String!
  epoch: String
  messages: [Message!]!

  """The cursor to send as \`after\` next time."""
  next: Float!
  first: Float!
  last: Float!
  gap: Boolean!
  reset: Boolean!
}

type PublishResult {
  topic: String!
  offset: Float!
  time: Float!
  duplicate: Boolean!
}

enum JobStatus {
  queued
  running
  succeeded
  failed
  canceled
}

type Job {
  id: ID!
  queue: String!
  status: JobStatus!
  progress: Float!
  note: String
  result: JSON
  error: String
  attempts: Int!
  maxAttempts: Int!
  version: Int!
  createdAt: Float!
  updatedAt: Float!
}

type JobSubmission {
  id: ID!
  queue: String!
  status: JobStatus!

  """False when an idempotencyKey matched an earlier submission."""
  created: Boolean!
}
`;
