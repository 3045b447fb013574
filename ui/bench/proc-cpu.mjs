// @ts-check
/**
 * CPU and memory of process trees from /proc, for the benchmarks (ui/bench/mesh.mjs,
 * scripts/desktop-bench-call.mjs): what a browser or the desktop app costs, counted
 * over every process it runs (Chromium's renderers, GPU and utility processes;
 * WebKit's web and network processes), in % of one core.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ on Linux: /proc's CPU times are in these ticks. */
export const TICKS = 100;
const PAGE_SIZE_KB = 4;

/**
 * `root` and all its descendants.
 * @param {number} root
 * @returns {number[]}
 */
export function processTree(root) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(d));
      children.set(ppid, list);
    } catch {
      // gone
    }
  }
  const out = [];
  const todo = [root];
  while (todo.length) {
    const p = /** @type {number} */ (todo.pop());
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * What a process is: Chromium's `--type` (and utility sub-type), else its name.
 * @param {number} pid
 */
function processType(pid) {
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  const type = /--type=([\w-]+)/.exec(cmd)?.[1];
  const sub = /--utility-sub-type=([\w.]+)/.exec(cmd)?.[1];
  if (sub) return `utility:${sub.split('.').pop()}`;
  if (type) return type;
  if (/chrom(e|ium)/.test(cmd.split('\0')[0] ?? '')) return 'browser';
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/**
 * CPU ticks (user + system) and RSS of each process in `pids`, and of each of its threads.
 * @param {number[]} pids
 * @returns {Map<number, {cpu: number, rssKb: number, type: string, threads: Map<number, {cpu: number, name: string}>}>}
 */
export function sample(pids) {
  const m = new Map();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = Number(f[11]) + Number(f[12]); // utime + stime
      const rssKb = Number(f[21]) * PAGE_SIZE_KB;
      /** @type {Map<number, {cpu: number, name: string}>} */
      const threads = new Map();
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          const ts = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          const name = ts.slice(ts.indexOf('(') + 1, ts.lastIndexOf(')'));
          const tf = ts.slice(ts.lastIndexOf(')') + 2).split(' ');
          threads.set(Number(tid), { cpu: Number(tf[11]) + Number(tf[12]), name });
        } catch {
          // thread gone
        }
      }
      m.set(pid, { cpu, rssKb, type: processType(pid), threads });
    } catch {
      // gone
    }
  }
  return m;
}

/**
 * @typedef {object} CpuFigures
 * @property {number} total % of one core, every process of the trees
 * @property {number} rssMb
 * @property {Record<string, number>} byType % of one core by process type
 * @property {Record<string, number>} maxByType the busiest single process of each type
 * @property {{type: string, thread: string, pct: number}[]} topThreads the busiest threads
 */

/**
 * CPU of the trees under `roots` between two samples (processes present in both).
 * @param {ReturnType<typeof sample>} a
 * @param {ReturnType<typeof sample>} b
 * @param {number} secs
 * @returns {CpuFigures}
 */
export function cpuBetween(a, b, secs) {
  let total = 0;
  let rssKb = 0;
  /** @type {Record<string, number>} */
  const byType = {};
  /** @type {Record<string, number>} */
  const maxByType = {};
  /** @type {Map<string, number>} */
  const threads = new Map();
  for (const [pid, s] of b) {
    const before = a.get(pid);
    if (!before) continue;
    const pct = ((s.cpu - before.cpu) / TICKS / secs) * 100;
    total += pct;
    rssKb += s.rssKb;
    byType[s.type] = (byType[s.type] ?? 0) + pct;
    maxByType[s.type] = Math.max(maxByType[s.type] ?? 0, pct);
    for (const [tid, t] of s.threads) {
      const tb = before.threads.get(tid);
      if (!tb) continue;
      const key = `${s.type}\0${t.name}`;
      threads.set(key, (threads.get(key) ?? 0) + ((t.cpu - tb.cpu) / TICKS / secs) * 100);
    }
  }
  const topThreads = [...threads]
    .map(([k, pct]) => {
      const [type, thread] = k.split('\0');
      return { type, thread, pct };
    })
    .sort((x, y) => y.pct - x.pct)
    .slice(0, 6);
  return { total, rssMb: rssKb / 1024, byType, maxByType, topThreads };
}

/**
 * Starts counting CPU of the trees under `roots` (taken now); `stop()` gives the figures.
 * @param {number[]} roots
 */
export function startCpu(roots) {
  const pids = roots.flatMap((r) => processTree(r));
  const a = sample(pids);
  const t0 = performance.now();
  return {
    stop() {
      const b = sample(pids);
      return cpuBetween(a, b, (performance.now() - t0) / 1000);
    },
  };
}
