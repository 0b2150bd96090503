/** The error catalogue and docs/errors.md say the same thing (fastify's errors-doc test, in spirit). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_STATUS } from '../../src/protocol/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  it('documents every error code with its status', () => {
    for (const code of ERROR_CODES) {
      expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${ERROR_STATUS[code]}`));
    }
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...ERROR_CODES].sort());
  });
});
