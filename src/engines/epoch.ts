import { randomBytes } from 'node:crypto';

/** A random id fixed when a topic log is created: 12 URL-safe characters. */
export const newEpoch = (): string => randomBytes(9).toString('base64url');
