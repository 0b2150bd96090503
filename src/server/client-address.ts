/**
 * The key per-address limits count against. IPv4-mapped IPv6 addresses count as their IPv4
 * address, and IPv6 clients count per /64 prefix: one host usually owns a whole /64, so counting
 * single IPv6 addresses would let it pick a fresh address per connection and skip the limit.
 */
import { isIPv6 } from 'node:net';

export function clientAddressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, expanding `::` (no zone id, no embedded IPv4). */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group || '0', 16).toString(16));
}
