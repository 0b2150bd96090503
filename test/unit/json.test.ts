import { describe, expect, it } from 'vitest';
import { parsePublishBody } from '../../src/core/envelopes.js';
import { matchTopic } from '../../src/core/topic-pattern.js';
import { integerParam } from '../../src/core/validate.js';
import { isSwitchboardError } from '../../src/protocol/errors.js';
import { jsonDepth, parseJson, rawMembers } from '../../src/protocol/json.js';
import { isValidTopic } from '../../src/protocol/message.js';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('JSON input', () => {
  it('measures depth ignoring brackets inside strings', () => {
    expect(jsonDepth('{"a":"[[[{{{","b":[1,[2]]}')).toBe(3);
    expect(jsonDepth('"\\"[["')).toBe(0);
  });

  it('refuses data nested deeper than 64 inside an envelope, accepts 64', () => {
    expect(() => parsePublishBody(`{"data":${nested(64)}}`)).not.toThrow();
    expect(() => parsePublishBody(`{"data":${nested(65)}}`)).toThrow(/nested deeper than 64/);
    // A pathological document is refused before JSON.parse sees it.
    expect(() => parseJson(nested(1_000_000))).toThrow(/nested deeper/);
  });

  it('keeps member values exactly as written', () => {
    const text =
      '{ "event" : "x", "data" : {"n": 1.50, "s":"a\\"}b", "big": 123456789012345678901234567890} }';
    expect(rawMembers(text).members.get('data')).toBe(
      '{"n": 1.50, "s":"a\\"}b", "big": 123456789012345678901234567890}',
    );
    expect(rawMembers(text).members.get('event')).toBe('"x"');
  });

  it('splits a batch into envelopes with raw data', () => {
    const parsed = parsePublishBody('[{"data":1.0},{"data":{"a":[1,2]},"event":"e","idempotencyKey":"k"}]');
    expect(parsed.batch).toBe(true);
    expect(parsed.inputs).toEqual([
      { data: '1.0', event: undefined, idempotencyKey: undefined },
      { data: '{"a":[1,2]}', event: 'e', idempotencyKey: 'k' },
    ]);
  });

  it('names what is wrong with a publish body', () => {
    const cases: Array<[string, RegExp]> = [
      ['{', /not valid JSON/],
      ['[]', /batch is empty/],
      ['[1]', /batch element 0 must be a JSON object/],
      ['"x"', /envelope object/],
      ['{"dat":1}', /unknown field "dat"/],
      ['{"event":"x"}', /no "data" field/],
    ];
    for (const [body, message] of cases) {
      try {
        parsePublishBody(body);
        expect.fail(`accepted ${body}`);
      } catch (error) {
        expect(isSwitchboardError(error)).toBe(true);
        expect((error as Error).message).toMatch(message);
      }
    }
  });
});

describe('names and parameters', () => {
  it('applies the topic rule', () => {
    expect(isValidTopic('orders')).toBe(true);
    expect(isValidTopic('a.b.c.d.e.f.g.h')).toBe(true);
    expect(isValidTopic('a.b.c.d.e.f.g.h.i')).toBe(false);
    expect(isValidTopic('a.b.c.d.e.f.g.h.dead-letter')).toBe(true);
    expect(isValidTopic('x'.repeat(65))).toBe(false);
    for (const bad of ['', '.a', 'a.', 'a..b', 'a b', 'a/b', 'ü']) expect(isValidTopic(bad)).toBe(false);
  });

  it('matches * and > patterns', () => {
    expect(matchTopic('orders.*', 'orders.eu')).toBe(true);
    expect(matchTopic('orders.*', 'orders.eu.x')).toBe(false);
    expect(matchTopic('orders.>', 'orders.eu.x')).toBe(true);
    expect(matchTopic('orders.>', 'orders')).toBe(false);
    expect(matchTopic('>', 'anything.at.all')).toBe(true);
    expect(matchTopic('*', 'a')).toBe(true);
  });

  it('parses whole-number parameters within range', () => {
    const rule = { min: 0, max: 60, fallback: 0 };
    expect(integerParam('wait', undefined, rule)).toBe(0);
    expect(integerParam('wait', '60', rule)).toBe(60);
    for (const bad of ['-1', '61', '1.5', 'abc', '1e3', ' 1', '0x10']) {
      expect(() => integerParam('wait', bad, rule)).toThrow(
        /wait=.* is invalid: send a whole number from 0 to 60/,
      );
    }
  });
});
