/**
 * The shipped proto: linted with buf (STANDARD rules, two documented exceptions in proto/buf.yaml),
 * listed in package.json `files`, documented field by field, and the one the server serves.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { PROTO as SHIPPED } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

function bufBinary(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const bin = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

it('passes buf lint', async () => {
  const buf = bufBinary();
  if (!buf) {
    console.warn('\n*** SKIPPED buf lint: @bufbuild/buf is not installed (npm install) ***\n');
    return;
  }
  const { stdout, stderr } = await run(buf, ['lint'], { cwd: join(ROOT, 'proto') }).catch((error) => {
    throw new Error(`buf lint failed:\n${error.stdout}${error.stderr}`);
  });
  expect(stdout + stderr).toBe('');
}, 60_000);

it('is shipped in the npm package', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.files).toContain('proto');
  expect(existsSync(SHIPPED)).toBe(true);
});

it('documents every message field and rpc with a comment', () => {
  const lines = readFileSync(SHIPPED, 'utf8').split('\n');
  const undocumented = lines.flatMap((line, i) => {
    const declaration =
      /^\s+(rpc |optional |repeated |oneof |[A-Za-z0-9_.]+ [a-z_0-9]+ = \d+;|[A-Z_0-9]+ = \d+;)/.test(line);
    return declaration && !/^\s*\/\//.test(lines[i - 1] ?? '') && !/^\s*oneof /.test(line)
      ? [`${i + 1}: ${line.trim()}`]
      : [];
  });
  expect(undocumented).toEqual([]);
});
