/** Long polling: each subscriber keeps one `wait=30` request held and re-asks from `next` at once. */
import type { PatternDriver } from '../types.js';
import { fetchLoops } from './fetch-loop.js';

export const driver: PatternDriver = {
  name: 'longpoll',
  title: 'long polling (held GET, re-ask at once)',
  start: (context) => fetchLoops(context, { waitSeconds: 30 }),
};
