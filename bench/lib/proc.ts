/** Reads what Linux says about a process: CPU time, resident memory, open-file limit. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds of a process (all its threads) from `/proc/<pid>/stat`. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14
  const stime = Number(fields[12]); // field 15
  return (utime + stime) / clockTicks();
}

/** Resident set size in bytes from `/proc/<pid>/status`. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Soft limit on open files of this process (children inherit it). */
export function openFileLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const match = /^Max open files\s+(\S+)/m.exec(limits);
  if (!match || match[1] === 'unlimited') return Number.POSITIVE_INFINITY;
  return Number(match[1]);
}

/** Number of free loopback ports a client can use for outgoing connections. */
export function ephemeralPortCount(): number {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(high) - Number(low) + 1;
  } catch {
    return 28_000;
  }
}

/** CPU-time sampler: call `stop()` to get the seconds used since `start`. */
export function cpuMeter(pids: number[]): { stop(): number[] } {
  const before = pids.map(cpuSeconds);
  return { stop: () => pids.map((pid, i) => cpuSeconds(pid) - before[i]!) };
}

/** Monotonic clock in microseconds, shared by every process on the machine (CLOCK_MONOTONIC). */
export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}
