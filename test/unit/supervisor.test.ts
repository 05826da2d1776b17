// The supervisor of `infermesh up`, over real child processes (tiny node scripts).
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logging/index.js';
import { describeExit, formatStatusTable, Supervisor, type ChildHandle, type ExitStatus, type ServiceStatus, type SupervisedService } from '../../cli/supervisor.js';

/** A child that runs `script` in node; ready as soon as it spawned. */
function nodeChild(script: string): ChildHandle {
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore', detached: true });
  const exited = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid!,
    endpoints: { pid: String(child.pid) },
    exited,
    stop: () =>
      (stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      })()),
  };
}

const LIVE = 'setInterval(() => {}, 1000)';

/** A service whose n-th start runs `scripts[n]` (the last one repeats); counts its starts. */
function scripted(name: string, plane: 'data' | 'control', scripts: string[]): SupervisedService & { starts: number } {
  const service = {
    name,
    plane,
    starts: 0,
    start: async () => nodeChild(scripts[Math.min(service.starts++, scripts.length - 1)]!),
  };
  return service;
}

const lines: Record<string, unknown>[] = [];
const logger = createLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
const fast = { initialBackoffMs: 20, maxBackoffMs: 100, maxRestarts: 3, budgetWindowMs: 60_000, stableAfterMs: 60_000 };
let supervisor: Supervisor | undefined;

afterEach(async () => {
  await supervisor?.close(2000);
  supervisor = undefined;
  lines.length = 0;
});

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const stateOf = (s: Supervisor, name: string): ServiceStatus => s.status().find((x) => x.name === name)!;

describe('Supervisor', () => {
  it('restarts a child killed with SIGKILL, logs the signal, counts the restart, and leaves the other services alone', async () => {
    supervisor = new Supervisor({ logger, policy: fast });
    const registry = scripted('registry', 'control', [LIVE]);
    await supervisor.add(registry);
    await supervisor.add(scripted('inference', 'data', [LIVE]));
    const first = stateOf(supervisor, 'registry').pid!;
    const node = stateOf(supervisor, 'inference').pid!;
    process.kill(first, 'SIGKILL');
    await until('the registry to run again', () => stateOf(supervisor!, 'registry').state === 'running' && stateOf(supervisor!, 'registry').pid !== first);
    const status = stateOf(supervisor, 'registry');
    expect(status.restarts).toBe(1);
    expect(status.lastExit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(registry.starts).toBe(2);
    expect(lines.find((l) => l.msg === 'service exited unexpectedly')).toMatchObject({ service: 'registry', signal: 'SIGKILL' });
    // The data plane never noticed.
    expect(stateOf(supervisor, 'inference')).toMatchObject({ state: 'running', pid: node, restarts: 0 });
    expect(alive(node)).toBe(true);
  });

  it('logs the exit code of a child that exits by itself', async () => {
    supervisor = new Supervisor({ logger, policy: fast });
    await supervisor.add(scripted('monitor', 'control', ['setTimeout(() => process.exit(3), 50)', LIVE]));
    await until('the restart', () => stateOf(supervisor!, 'monitor').restarts === 1 && stateOf(supervisor!, 'monitor').state === 'running');
    expect(stateOf(supervisor, 'monitor').lastExit).toMatchObject({ code: 3, signal: null });
    expect(describeExit(stateOf(supervisor, 'monitor').lastExit!)).toBe('code 3');
  });

  it('gives up a control-plane service after its restart budget, keeps the rest running, and does not call onFatal', async () => {
    const fatal: string[] = [];
    supervisor = new Supervisor({ logger, policy: fast, onFatal: (name) => fatal.push(name) });
    const crashing = scripted('recommender', 'control', ['process.exit(1)']);
    await supervisor.add(scripted('inference', 'data', [LIVE]));
    await supervisor.add(crashing).catch(() => undefined);
    // The first start itself "succeeds" (the child spawned), then every run exits at once.
    await until('the budget to run out', () => stateOf(supervisor!, 'recommender')?.state === 'failed');
    expect(crashing.starts).toBe(1 + fast.maxRestarts);
    expect(stateOf(supervisor, 'recommender').restarts).toBe(fast.maxRestarts);
    expect(stateOf(supervisor, 'recommender').reason).toMatch(/giving up/);
    expect(stateOf(supervisor, 'inference').state).toBe('running');
    expect(fatal).toEqual([]);
  });

  it('calls onFatal when the data plane spends its budget', async () => {
    const fatal: string[] = [];
    supervisor = new Supervisor({ logger, policy: { ...fast, maxRestarts: 1 }, onFatal: (name) => fatal.push(name) });
    await supervisor.add(scripted('inference', 'data', ['process.exit(2)']));
    await until('onFatal', () => fatal.length > 0);
    expect(fatal).toEqual(['inference']);
  });

  it('backs off between restarts, doubling up to the maximum', async () => {
    const starts: number[] = [];
    supervisor = new Supervisor({ logger, policy: { initialBackoffMs: 40, maxBackoffMs: 80, maxRestarts: 10, budgetWindowMs: 60_000, stableAfterMs: 60_000 } });
    await supervisor.add({
      name: 'registry',
      plane: 'control',
      start: async () => {
        starts.push(Date.now());
        return nodeChild('process.exit(1)');
      },
    });
    await until('four starts', () => starts.length >= 4);
    const logged = lines.filter((l) => l.msg === 'restarting service').map((l) => l.inMs);
    expect(logged.slice(0, 3)).toEqual([40, 80, 80]);
    // Each start came no sooner than its backoff after the previous one's exit.
    for (let i = 1; i < 4; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual((logged[i - 1] as number) - 5);
  });

  it('retries a restart whose start fails, as one more restart', async () => {
    supervisor = new Supervisor({ logger, policy: fast });
    let n = 0;
    await supervisor.add({
      name: 'nats',
      plane: 'control',
      start: async () => {
        n++;
        if (n === 1) return nodeChild('process.exit(1)');
        if (n === 2) throw new Error('port taken');
        return nodeChild(LIVE);
      },
    });
    await until('a running nats', () => stateOf(supervisor!, 'nats').state === 'running' && n === 3);
    expect(stateOf(supervisor, 'nats').restarts).toBe(2);
    expect(lines.find((l) => l.msg === 'restarting service failed')).toBeDefined();
  });

  it('close() stops every child in reverse order, restarts nothing afterwards, and reports each state change', async () => {
    const seen: ServiceStatus[][] = [];
    supervisor = new Supervisor({ logger, policy: fast, onChange: (s) => seen.push(s) });
    await supervisor.add(scripted('nats', 'control', [LIVE]));
    await supervisor.add(scripted('registry', 'control', [LIVE]));
    const pids = supervisor.pids();
    expect(pids).toHaveLength(2);
    await supervisor.close();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(supervisor.status().map((s) => s.state)).toEqual(['stopped', 'stopped']);
    expect(supervisor.pids()).toEqual([]);
    // registry stopped before nats.
    const stoppedOrder = seen.flatMap((s, i) => (i > 0 ? s.filter((x, j) => x.state === 'stopped' && seen[i - 1]![j]?.state !== 'stopped').map((x) => x.name) : []));
    expect(stoppedOrder).toEqual(['registry', 'nats']);
    await expect(supervisor.add(scripted('late', 'control', [LIVE]))).rejects.toThrow(/stopping/);
  });

  it('a service still starting when close() runs is stopped as soon as it is up', async () => {
    supervisor = new Supervisor({ logger, policy: fast });
    let started: ChildHandle | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const adding = supervisor.add({
      name: 'slow',
      plane: 'control',
      start: async () => {
        await gate;
        return (started = nodeChild(LIVE));
      },
    });
    const closing = supervisor.close();
    release();
    await expect(adding).rejects.toThrow(/stopped while slow was starting/);
    await closing;
    await started!.exited;
    expect(alive(started!.pid)).toBe(false);
  });

  it('formats a table with state, pid, restarts and the last exit', () => {
    const table = formatStatusTable([
      { name: 'registry', plane: 'control', state: 'running', pid: 42, endpoints: { grpc: '127.0.0.1:1' }, restarts: 2, lastExit: { code: null, signal: 'SIGKILL', atMs: 0 } },
      { name: 'monitor', plane: 'control', state: 'failed', endpoints: {}, restarts: 5, reason: 'restarted 5 times' },
    ]);
    expect(table).toMatch(/registry\s+running\s+42\s+2\s+signal SIGKILL\s+grpc=127\.0\.0\.1:1/);
    expect(table).toMatch(/monitor\s+failed\s+-\s+5\s+-\s+\(restarted 5 times\)/);
  });
});
