/**
 * Machine-readable descriptions: `GET /openapi.json` (OpenAPI 3.1, every HTTP route) and
 * `GET /asyncapi.json` (AsyncAPI 3, the push channels). Both are built once and need no token: they
 * describe the API, not its data.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { asyncApiJson } from './asyncapi/document.js';
import { openApiJson } from './openapi/document.js';

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function registerApiDocs(app: FastifyInstance): void {
  app.get('/openapi.json', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(openApiJson(PACKAGE_VERSION)),
  );
  app.get('/asyncapi.json', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(asyncApiJson(PACKAGE_VERSION)),
  );
}
