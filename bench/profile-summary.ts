import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/**
 * Self-time shares of a V8 .cpuprofile (from `node --cpu-prof`) as a share of
 * the busy time (idle samples left out): totals by package, then top functions.
 */
export async function summarizeCpuProfile(file: string, top = 15): Promise<{ fn: string; selfPct: number }[]> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as { nodes: ProfileNode[] };
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits || n.callFrame.functionName === '(idle)') continue;
    total += hits;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|src)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
    byArea.set(area(url, functionName), (byArea.get(area(url, functionName)) ?? 0) + hits);
  }
  const pct = (h: number) => (total ? (h / total) * 100 : 0);
  const areas = [...byArea].sort((a, b) => b[1] - a[1]).map(([k, h]) => ({ fn: `[area] ${k}`, selfPct: pct(h) }));
  const fns = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, h]) => ({ fn: k, selfPct: pct(h) }));
  return [...areas, ...fns];
}

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : 'native / builtins';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node core (' + url.slice(5).split('/')[0] + ')';
  const m = /\/dist\/(services\/[^/]+\/[^/]+|shared\/[^/]+|[^/]+)/.exec(url);
  return m ? `infermesh ${m[1]}` : url;
}
