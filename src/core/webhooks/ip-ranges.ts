/**
 * Which IP addresses a webhook must never reach (SSRF): everything that is not a public unicast
 * address — loopback, private, link-local, unique-local, CGNAT, cloud metadata, unspecified,
 * multicast, broadcast and reserved/documentation ranges. IPv6 forms that carry an IPv4 address
 * (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the IPv4 address inside, so
 * `::ffff:127.0.0.1` is as refused as `127.0.0.1`.
 *
 * Parsed by hand to 128-bit integers rather than with string prefixes: `0:0:0:0:0:ffff:7f00:1`,
 * `::ffff:7f00:1` and `::ffff:127.0.0.1` are the same address, and only numbers see that.
 */
import { isIP } from 'node:net';

interface Range {
  base: bigint;
  bits: number;
  reason: string;
}

const V4_BITS = 32;
const V6_BITS = 128;

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  let address = text.toLowerCase();
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone); // fe80::1%eth0: the zone is not part of the address
  let tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  if (address.includes('.', lastColon)) {
    // An embedded dotted quad (::ffff:1.2.3.4) is the last two groups.
    const v4 = parseV4(address.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [Number(v4 >> 16n), Number(v4 & 0xffffn)];
    address = `${address.slice(0, lastColon + 1)}0:0`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined) => (half ? half.split(':') : []);
  const head = groups(halves[0]);
  const rest = groups(halves[1]);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let value = 0n;
  for (const group of all) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  }
  if (tail.length === 2) value = (value & ~0xffffffffn) | (BigInt(tail[0]!) << 16n) | BigInt(tail[1]!);
  return value;
}

const v4 = (cidr: string, reason: string): Range => {
  const [address, bits] = cidr.split('/');
  return { base: parseV4(address!)!, bits: Number(bits), reason };
};
const v6 = (cidr: string, reason: string): Range => {
  const [address, bits] = cidr.split('/');
  return { base: parseV6(address!)!, bits: Number(bits), reason };
};

// Most specific first: the first match names the reason.
const V4_RANGES: Range[] = [
  v4('169.254.169.254/32', 'a cloud metadata address'),
  v4('0.0.0.0/8', 'an unspecified ("this network") address'),
  v4('10.0.0.0/8', 'a private address (10.0.0.0/8)'),
  v4('100.64.0.0/10', 'a carrier-grade NAT (shared) address'),
  v4('127.0.0.0/8', 'a loopback address'),
  v4('169.254.0.0/16', 'a link-local address'),
  v4('172.16.0.0/12', 'a private address (172.16.0.0/12)'),
  v4('192.0.0.0/24', 'an IETF protocol assignment address'),
  v4('192.0.2.0/24', 'a documentation address'),
  v4('192.88.99.0/24', 'a 6to4 relay anycast address'),
  v4('192.168.0.0/16', 'a private address (192.168.0.0/16)'),
  v4('198.18.0.0/15', 'a benchmarking address'),
  v4('198.51.100.0/24', 'a documentation address'),
  v4('203.0.113.0/24', 'a documentation address'),
  v4('224.0.0.0/4', 'a multicast address'),
  v4('255.255.255.255/32', 'the broadcast address'),
  v4('240.0.0.0/4', 'a reserved address'),
];

const V6_RANGES: Range[] = [
  v6('fd00:ec2::254/128', 'a cloud metadata address'),
  v6('::/128', 'the unspecified address'),
  v6('::1/128', 'a loopback address'),
  v6('100::/64', 'a discard-only address'),
  v6('2001:db8::/32', 'a documentation address'),
  v6('fc00::/7', 'a unique-local (private) address'),
  v6('fe80::/10', 'a link-local address'),
  v6('fec0::/10', 'a site-local address'),
  v6('ff00::/8', 'a multicast address'),
];

/** IPv6 prefixes whose low 32 bits (or bits 16-48 for 6to4) are an IPv4 address that decides. */
const EMBEDDED_V4: Array<{ range: Range; extract: (value: bigint) => bigint }> = [
  { range: v6('::ffff:0:0/96', 'IPv4-mapped'), extract: (value) => value & 0xffffffffn },
  { range: v6('::/96', 'IPv4-compatible'), extract: (value) => value & 0xffffffffn },
  { range: v6('64:ff9b::/96', 'NAT64'), extract: (value) => value & 0xffffffffn },
  { range: v6('64:ff9b:1::/48', 'NAT64'), extract: (value) => value & 0xffffffffn },
  { range: v6('2002::/16', '6to4'), extract: (value) => (value >> 80n) & 0xffffffffn },
];

const within = (value: bigint, range: Range, width: number): boolean =>
  value >> BigInt(width - range.bits) === range.base >> BigInt(width - range.bits);

function classifyV4(value: bigint): string | undefined {
  return V4_RANGES.find((range) => within(value, range, V4_BITS))?.reason;
}

/**
 * Why `address` may not receive webhooks, or undefined for a public unicast address. Anything that
 * is not a valid IP address is refused too (callers resolve names first).
 */
export function blockedReason(address: string): string | undefined {
  const family = isIP(address.split('%')[0] ?? '');
  if (family === 4) return classifyV4(parseV4(address)!);
  if (family !== 6) return `not an IP address (${JSON.stringify(address)})`;
  const value = parseV6(address);
  if (value === undefined) return `not an IP address (${JSON.stringify(address)})`;
  const direct = V6_RANGES.find((range) => within(value, range, V6_BITS));
  if (direct) return direct.reason;
  for (const { range, extract } of EMBEDDED_V4) {
    if (!within(value, range, V6_BITS)) continue;
    const inner = classifyV4(extract(value));
    if (inner) return `${inner}, embedded in an IPv6 address (${range.reason})`;
  }
  return undefined;
}
