#!/usr/bin/env node
import { Command } from 'commander';
import { registerBench } from './bench/index.js';
import { registerClientCommands } from './client-commands.js';
import { registerJobsCommands } from './jobs-commands.js';
import { registerRequestCommands } from './request-commands.js';
import { registerServe } from './serve.js';
import { registerToken } from './token.js';

const program = new Command()
  .name('switchboard')
  .description(
    'Switchboard: one durable, ordered log per topic, reachable through every communication pattern',
  )
  .version('0.1.0');

registerServe(program);
registerClientCommands(program);
registerJobsCommands(program);
registerRequestCommands(program);
registerToken(program);
registerBench(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`switchboard: ${(error as Error).message}\n`);
  process.exit(1);
});
