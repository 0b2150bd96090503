/**
 * Presence over HTTP (docs/presence.md): `GET /v1/topics/{topic}/presence` lists every live push
 * subscriber of the topic on every node. The list itself is the hub's (core/presence.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Hub } from '../../core/hub.js';
import { assertTopic } from '../../core/validate.js';

export function registerPresence(app: FastifyInstance, hub: Hub): void {
  app.get<{ Params: { topic: string } }>('/v1/topics/:topic/presence', async (request, reply) => {
    const json = await hub.presence.listJson(assertTopic(request.params.topic));
    return reply
      .headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
      .send(json);
  });
}
