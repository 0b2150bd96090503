/**
 * docs/openapi.json and docs/asyncapi.json are the served documents, kept equal by this test.
 * After changing a route or a channel: `UPDATE_API_DOCS=1 npx vitest run test/api-docs/files.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asyncApiDocument } from '../../src/server/asyncapi/document.js';
import { openApiDocument } from '../../src/server/openapi/document.js';

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const files = [
  ['docs/openapi.json', openApiDocument(version)],
  ['docs/asyncapi.json', asyncApiDocument(version)],
] as const;

describe('API description files in docs/', () => {
  for (const [path, document] of files) {
    it(`${path} equals the served document`, () => {
      const text = `${JSON.stringify(document, null, 2)}\n`;
      if (process.env.UPDATE_API_DOCS === '1') writeFileSync(path, text);
      expect(
        readFileSync(path, 'utf8'),
        `run UPDATE_API_DOCS=1 npx vitest run ${'test/api-docs/files.test.ts'}`,
      ).toBe(text);
    });
  }
});
