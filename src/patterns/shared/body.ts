/**
 * Request bodies reach routes as text tagged with their media type; routes decide how to read
 * them (publish keeps the sender's JSON text, other routes parse it). One parser per type here.
 */
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../protocol/errors.js';
import { JsonInputError, parseJson, rawMembers } from '../../protocol/json.js';

export type TextBody = { kind: 'json' | 'text'; text: string };

export function registerBodyParsers(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, text, done) => {
    done(null, { kind: 'json', text: text as string } satisfies TextBody);
  });
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit }, (_request, text, done) => {
    done(null, { kind: 'text', text: text as string } satisfies TextBody);
  });
}

export function bodyOf(body: unknown): TextBody {
  const tagged = body as TextBody | undefined;
  if (!tagged || tagged.text.length === 0) {
    throw badRequest('request body is empty; send a JSON document with Content-Type: application/json');
  }
  return tagged;
}

function parseObjectBody(body: unknown): { value: Record<string, unknown>; text: string } {
  const tagged = bodyOf(body);
  if (tagged.kind !== 'json') throw badRequest('send Content-Type: application/json with a JSON object');
  let value: unknown;
  try {
    value = parseJson(tagged.text);
  } catch (error) {
    if (error instanceof JsonInputError) throw badRequest(error.message);
    throw error;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('body must be a JSON object');
  }
  return { value: value as Record<string, unknown>, text: tagged.text };
}

/** A JSON object body for routes that take parameters in JSON (not message data). */
export function jsonObjectBody(body: unknown): Record<string, unknown> {
  return parseObjectBody(body).value;
}

/** A JSON object body plus each member's raw text, for members kept exactly as sent (job payloads, results). */
export function jsonObjectBodyWithRaw(body: unknown): {
  value: Record<string, unknown>;
  raw: Map<string, string>;
} {
  const { value, text } = parseObjectBody(body);
  return { value, raw: rawMembers(text).members };
}
