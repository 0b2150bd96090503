/** Short polling: each subscriber asks `GET …/messages?after=N` every `--poll-interval` ms. */
import type { PatternDriver } from '../types.js';
import { fetchLoops } from './fetch-loop.js';

export const driver: PatternDriver = {
  name: 'poll',
  title: 'short polling (GET every interval)',
  start: (context) => fetchLoops(context, { waitSeconds: 0 }),
};
