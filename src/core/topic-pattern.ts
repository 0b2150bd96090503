/**
 * Topic patterns, NATS style: segments split on ".", `*` matches exactly one segment and `>`
 * (last segment only) matches one or more. Used by retention rules and token capabilities.
 */
export function matchTopic(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  const want = pattern.split('.');
  const have = topic.split('.');
  for (let i = 0; i < want.length; i++) {
    const segment = want[i];
    if (segment === '>') return i === want.length - 1 && have.length > i;
    if (i >= have.length) return false;
    if (segment !== '*' && segment !== have[i]) return false;
  }
  return want.length === have.length;
}
