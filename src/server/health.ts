import type { FastifyInstance } from 'fastify';
import type { Hub } from '../core/hub.js';
import { errorBody } from './errors.js';

export function registerHealth(app: FastifyInstance, hub: Hub): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await hub.engine.ping();
      return { status: 'ready', engine: hub.engine.name };
    } catch (error) {
      request.log.warn({ err: error }, 'engine not ready');
      return reply
        .code(503)
        .send(
          errorBody(
            'unavailable',
            `the ${hub.engine.name} engine is not reachable: ${(error as Error).message}`,
          ),
        );
    }
  });
}
