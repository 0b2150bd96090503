/**
 * Request-response: publish (one envelope, an atomic batch, or text/plain), topic list, topic
 * stats and topic deletion.
 */
import type { FastifyInstance } from 'fastify';
import { parsePublishBody } from '../../core/envelopes.js';
import type { Hub, PublishInput } from '../../core/hub.js';
import { isScheduled } from '../../core/schedule-rules.js';
import { badRequest } from '../../protocol/errors.js';
import { bodyOf } from '../shared/body.js';

type TopicParams = { topic: string };

export function registerRest(app: FastifyInstance, hub: Hub): void {
  app.post<{ Params: TopicParams }>('/v1/topics/:topic/messages', async (request, reply) => {
    const body = bodyOf(request.body);
    let inputs: PublishInput[];
    let batch = false;
    if (body.kind === 'text') {
      inputs = [{ data: JSON.stringify(body.text) }];
    } else {
      ({ inputs, batch } = parsePublishBody(body.text));
    }
    if (inputs.some(isScheduled)) {
      // Delayed delivery (docs/delayed.md): one envelope per schedule; a batch is appended atomically now.
      if (batch) throw badRequest('delayMs/deliverAt apply to single messages: send each on its own');
      const scheduled = await hub.schedules.schedule(request.params.topic, inputs[0]!);
      return reply.code(scheduled.duplicate ? 200 : 202).send(scheduled);
    }
    const result = await hub.publishInputs(request.params.topic, inputs);
    if (batch) {
      const allDuplicates = result.outcomes.every((o) => o.duplicate);
      return reply.code(allDuplicates ? 200 : 201).send({
        topic: result.topic,
        offsets: result.outcomes.map((o) => o.offset),
        time: result.outcomes[0]!.time,
        duplicates: result.outcomes.map((o) => o.duplicate),
      });
    }
    const outcome = result.outcomes[0]!;
    return reply.code(outcome.duplicate ? 200 : 201).send({
      topic: result.topic,
      offset: outcome.offset,
      time: outcome.time,
      duplicate: outcome.duplicate,
    });
  });

  app.get('/v1/topics', async () => ({ topics: await hub.topics() }));

  app.get<{ Params: TopicParams }>('/v1/topics/:topic', async (request) => hub.topic(request.params.topic));

  // Admin only in token mode (route-rules.ts); open mode lets anyone delete.
  app.delete<{ Params: TopicParams }>('/v1/topics/:topic', async (request, reply) => {
    await hub.deleteTopic(request.params.topic);
    return reply.code(204).send();
  });
}
