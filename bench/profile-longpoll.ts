/**
 * Profiles one server under the long-poll fan-out load (1,000 subscribers re-asking at once):
 *   node --import tsx bench/profile-longpoll.ts [switchboard|floor] [seconds] [profile dir]
 * The server runs with `--cpu-prof`; the profile lands in the directory given (default /tmp).
 * Read it with Chrome DevTools, or `node bench/lib/cpuprofile-top.mjs <file>` for the top self times.
 */

import { join } from 'node:path';
import { FanoutRig } from './lib/fanout.js';
import { BENCH_SERVER_ENV, ROOT, SERVER_ENTRY, spawnServer } from './lib/server.js';

const which = process.argv[2] ?? 'switchboard';
const seconds = Number(process.argv[3] ?? 8);
const dir = process.argv[4] ?? '/tmp';
const prof = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
const server = await spawnServer(
  which === 'floor'
    ? { label: 'floor', args: [...prof, '--import', 'tsx', join(ROOT, 'bench/floor-longpoll-server.ts')] }
    : {
        label: 'switchboard',
        args: [
          ...prof,
          SERVER_ENTRY,
          'serve',
          '--port',
          '0',
          '--host',
          '127.0.0.1',
          '--engine',
          'memory',
          '--log-level',
          'warn',
        ],
        env: BENCH_SERVER_ENV,
      },
);
const started = await FanoutRig.start({
  label: which,
  server,
  transport: 'longpoll',
  subscribers: 1_000,
  workers: 2,
  topic: 'profile',
});
if (!started.rig) throw new Error(started.unavailable);
const window = await started.rig.window(500, seconds * 1000);
process.stdout.write(`${JSON.stringify(window)}\n`);
await started.rig.close();
await server.stop();
