/** Every example runs against a real server, so the docs cannot drift from the code. */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
const examplesDir = new URL('../../examples/', import.meta.url);
const examples = readdirSync(examplesDir).filter((name) => name.endsWith('.ts'));

/** What each example must print; an example without an entry here fails, so none goes unchecked. */
const EXPECTED_OUTPUT: Record<string, RegExp> = {
  'grpc-client.ts':
    /published at offset 1\nmessage 1: \{"id":1\}\nmessage 2: \{"id":2\}\nmessage 3: "three"\nafter 3: 4=4\nrefused: INVALID_ARGUMENT bad_request/,
  'request-response.ts':
    /published at offset \d+\nread back: \{"topic":"examples.orders","offset":\d+,"time":\d+,"event":"created","data":\{"id":42,"total":99.5\}/,
  'short-poll.ts': /progress: \{"percent":25\}[\s\S]*progress: \{"percent":100\}/,
  'long-poll.ts': /upload 10%[\s\S]*upload 60%[\s\S]*upload 100%/,
  'upload-progress.ts':
    /submitted upload job job_\S+ \(202 Accepted[\s\S]*long poll saw: (queued → )?(\d+% → )*[1-9]\d*% → succeeded\nsse saw: queued, running, 20%, 40%, 60%, 80%, succeeded\ncallback: signature verified, job succeeded with \{"url":"https:\/\/cdn\.example\.com\/holiday\.mp4"\}/,
};

describe('examples', () => {
  let fixture: EngineFixture;
  let server: TestServer;
  beforeAll(async () => {
    fixture = ENGINE_FIXTURES.find((f) => f.name === 'sqlite')!.fixture();
    server = await startServer(fixture, { allowPrivateWebhooks: true }); // upload-progress.ts: callback on loopback
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  it.each(examples)('%s runs and exits 0', async (name) => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', new URL(name, examplesDir).pathname, server.url],
      {
        timeout: 15_000,
      },
    );
    expect(EXPECTED_OUTPUT[name], `add ${name} to EXPECTED_OUTPUT`).toBeDefined();
    expect(stdout).toMatch(EXPECTED_OUTPUT[name]!);
  });
});
