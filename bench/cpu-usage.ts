// Which side of a measurement ran out of CPU: the CPU time of the server's and
// the load generator's process trees over the window, from /proc/<pid>/stat
// (utime + stime of every process in the tree; threads are counted in their
// process), as a share of the CPUs each side was pinned to.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** A side at or above this share of its CPUs counts as having run out of CPU. */
export const CPU_BOUND_SHARE = 0.85;

let ticks: number | undefined;
/** Clock ticks per second of /proc's times (getconf CLK_TCK; 100 where that fails). */
export function clockTicks(): number {
  if (ticks !== undefined) return ticks;
  try {
    ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    ticks = 100;
  }
  return ticks;
}

/** The fields of a /proc/<pid>/stat line after `pid (comm)`: index 0 is field 3 (state). */
function statFields(line: string): string[] {
  return line.slice(line.lastIndexOf(')') + 2).trim().split(/\s+/);
}

/** utime + stime of one stat line, and (for a shell that waited for its child) cutime + cstime, in seconds. */
export function cpuSecondsOfStat(line: string): { own: number; children: number } {
  const f = statFields(line);
  const t = clockTicks();
  return { own: (Number(f[11]) + Number(f[12])) / t, children: (Number(f[13]) + Number(f[14])) / t };
}

/** CPU seconds used so far by `pid` and every live descendant (0 where /proc cannot be read). */
export function treeCpuSeconds(pid: number): number {
  const parentOf = new Map<number, number>();
  const own = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const line = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = statFields(line);
      parentOf.set(Number(e), Number(f[1]));
      own.set(Number(e), cpuSecondsOfStat(line).own);
    } catch {
      // The process ended while we looked.
    }
  }
  let total = 0;
  for (const [p, seconds] of own) {
    for (let q: number | undefined = p, hops = 0; q !== undefined && q > 0 && hops < 64; q = parentOf.get(q), hops++) {
      if (q === pid) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}

/** Each side's CPU share over a window, and which (if any) ran out. */
export interface CpuShare {
  /** CPU time / (window × CPUs pinned), 0..1 (can exceed 1 slightly from sampling). */
  server: number;
  client: number;
  /** Which side reached {@link CPU_BOUND_SHARE}: the one that limits the figure. */
  bound: 'server' | 'client' | 'both' | 'neither';
}

export function cpuShare(serverSeconds: number, serverCpus: number, clientSeconds: number, clientCpus: number, windowSeconds: number): CpuShare {
  const share = (s: number, cpus: number) => (windowSeconds > 0 ? s / (windowSeconds * Math.max(1, cpus)) : 0);
  const server = share(serverSeconds, serverCpus);
  const client = share(clientSeconds, clientCpus);
  const s = server >= CPU_BOUND_SHARE;
  const c = client >= CPU_BOUND_SHARE;
  return { server, client, bound: s && c ? 'both' : s ? 'server' : c ? 'client' : 'neither' };
}

/** Measures `run` with the CPU of two live process trees sampled around it. */
export async function withCpuShare<T>(
  serverPid: number | undefined,
  serverCpus: number,
  clientPid: number | undefined,
  clientCpus: number,
  run: () => Promise<T>,
): Promise<{ result: T; cpu: CpuShare | undefined }> {
  const s0 = serverPid ? treeCpuSeconds(serverPid) : 0;
  const c0 = clientPid ? treeCpuSeconds(clientPid) : 0;
  const t0 = performance.now();
  const result = await run();
  const seconds = (performance.now() - t0) / 1000;
  if (!serverPid || !clientPid) return { result, cpu: undefined };
  return { result, cpu: cpuShare(treeCpuSeconds(serverPid) - s0, serverCpus, treeCpuSeconds(clientPid) - c0, clientCpus, seconds) };
}
