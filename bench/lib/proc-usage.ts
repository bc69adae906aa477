// CPU and memory of a process tree from /proc, for the resource benchmarks: CPU as the change of
// utime+stime (clock ticks) over a measured interval, RSS from VmRSS. Linux only.
import { readFileSync, readdirSync } from 'node:fs';

const TICKS = 100; // USER_HZ (getconf CLK_TCK) on Linux

function stat(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after the command: state(0) ppid(1) ... utime(11) stime(12)
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The pid and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = stat(Number(e));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(e));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(root);
  return out;
}

export interface Usage {
  /** Percent of one core over the interval. */
  cpuPercent: number;
  /** Median and max of the RSS samples, MB (sum over the tree). */
  rssMedianMb: number;
  rssMaxMb: number;
}

/** Samples a process tree for `seconds`, every `everyMs`. */
export async function measure(root: number, seconds: number, everyMs = 1000): Promise<Usage> {
  const ticksOf = (pids: number[]): number => pids.reduce((a, p) => a + (stat(p)?.ticks ?? 0), 0);
  let pids = processTree(root);
  const t0 = performance.now();
  const c0 = ticksOf(pids);
  const rss: number[] = [];
  while (performance.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, everyMs));
    pids = processTree(root);
    rss.push(pids.reduce((a, p) => a + rssKb(p), 0) / 1024);
  }
  const c1 = ticksOf(pids);
  const elapsed = (performance.now() - t0) / 1000;
  rss.sort((a, b) => a - b);
  return {
    cpuPercent: ((c1 - c0) / TICKS / elapsed) * 100,
    rssMedianMb: rss[rss.length >> 1] ?? 0,
    rssMaxMb: rss[rss.length - 1] ?? 0,
  };
}
