// The supervisor of `infermesh up`: keeps each child of the mesh running,
// restarting what exits unexpectedly with backoff and within a restart budget,
// so that a control-plane crash (registry, monitor, recommender, NATS) never
// takes the data plane (the inference node) down with it.
import type { Logger } from '../shared/logging/index.js';
import { defineDefaults, resolveOptions } from '../shared/options/index.js';

/** How a child process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started child, as the supervisor sees it. */
export interface ChildHandle {
  /** Process id; also its process group id (every child runs in its own group). */
  readonly pid: number;
  /** Endpoints from its ready line. */
  readonly endpoints: Record<string, string>;
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<ExitStatus>;
  /** Asks it to stop (it drains), kills it after `graceMs`; resolves once it exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * One service the supervisor keeps running. `plane: 'data'` marks what serves
 * requests (the inference node): when its restart budget runs out the mesh is
 * useless and `onFatal` fires. `'control'` services (registry, monitor,
 * recommender, NATS) are restarted the same way, and when their budget runs
 * out they are left `failed` while everything else keeps serving.
 */
export interface SupervisedService {
  name: string;
  plane: 'data' | 'control';
  /** Spawns the child and resolves once it is ready; rejects when it cannot start. Called again for each restart (same ports, same data). */
  start(): Promise<ChildHandle>;
}

/** Restart pacing and budget. */
export interface RestartPolicy {
  /** Pause before the first restart; doubles per consecutive failure. Default 250 ms. */
  initialBackoffMs: number;
  /** Longest pause between restarts. Default 10000 ms. */
  maxBackoffMs: number;
  /** Restarts allowed within `budgetWindowMs`; one more and the service is given up (`failed`). Default 5. */
  maxRestarts: number;
  /** Default 60000 ms. */
  budgetWindowMs: number;
  /** A child that ran this long before exiting starts its backoff afresh. Default 10000 ms. */
  stableAfterMs: number;
}

/** Defaults of {@link RestartPolicy}. */
export const DEFAULT_RESTART_POLICY: Readonly<RestartPolicy> = defineDefaults({
  initialBackoffMs: 250,
  maxBackoffMs: 10_000,
  maxRestarts: 5,
  budgetWindowMs: 60_000,
  stableAfterMs: 10_000,
});

/** `starting` (first start or a restart in progress), `running`, `backoff` (waiting to restart), `failed` (budget spent), `stopped`. */
export type ServiceState = 'starting' | 'running' | 'backoff' | 'failed' | 'stopped';

/** One row of the supervisor's table. */
export interface ServiceStatus {
  name: string;
  plane: 'data' | 'control';
  state: ServiceState;
  /** The running process, when there is one. */
  pid?: number;
  endpoints: Record<string, string>;
  /** Restarts since up started. */
  restarts: number;
  /** How the last unexpected exit ended. */
  lastExit?: ExitStatus & { atMs: number };
  /** Why the service is `failed`. */
  reason?: string;
}

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  logger: Logger;
  policy?: Partial<RestartPolicy>;
  /** Called after every state change, with every service's status. */
  onChange?: (statuses: ServiceStatus[]) => void;
  /** A data-plane service spent its restart budget. */
  onFatal?: (service: string, reason: string) => void;
  /** Milliseconds; default Date.now. */
  clock?: () => number;
}

interface Entry {
  service: SupervisedService;
  status: ServiceStatus;
  child?: ChildHandle;
  /** Start times of the restarts inside the budget window. */
  restartTimes: number[];
  backoffMs: number;
  wake?: () => void;
}

/**
 * Starts services in order and keeps them running until {@link close}.
 * Each unexpected exit is logged with its exit code or signal and followed by
 * a restart after a backoff (doubling from `initialBackoffMs` to
 * `maxBackoffMs`); a restart that fails to start counts as one more and backs
 * off again. More than `maxRestarts` restarts within `budgetWindowMs` and the
 * service is `failed`.
 */
export class Supervisor {
  private readonly entries: Entry[] = [];
  private readonly policy: RestartPolicy;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.policy = resolveOptions(DEFAULT_RESTART_POLICY, options.policy);
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
  }

  /** Starts `service` and resolves with its endpoints once it is ready; rejects (and forgets it) when the first start fails. */
  async add(service: SupervisedService): Promise<Record<string, string>> {
    if (this.closing) throw new Error(`the supervisor is stopping; not starting ${service.name}`);
    const entry: Entry = {
      service,
      status: { name: service.name, plane: service.plane, state: 'starting', endpoints: {}, restarts: 0 },
      restartTimes: [],
      backoffMs: this.policy.initialBackoffMs,
    };
    this.entries.push(entry);
    this.changed();
    try {
      const child = await service.start();
      if (this.closing) {
        // close() ran while this one was starting: it must not outlive the rest.
        await child.stop();
        throw new Error(`the supervisor stopped while ${service.name} was starting`);
      }
      this.attach(entry, child);
      return child.endpoints;
    } catch (err) {
      this.entries.splice(this.entries.indexOf(entry), 1);
      this.changed();
      throw err;
    }
  }

  /** Every service's status, in start order. */
  status(): ServiceStatus[] {
    return this.entries.map((e) => ({ ...e.status, endpoints: { ...e.status.endpoints } }));
  }

  /** Process (group) ids of every running child: what an exit hook must kill. */
  pids(): number[] {
    return this.entries.flatMap((e) => (e.child ? [e.child.pid] : []));
  }

  /** Endpoints of a service that has started (they stay the same across restarts). */
  endpoints(name: string): Record<string, string> | undefined {
    return this.entries.find((e) => e.service.name === name)?.status.endpoints;
  }

  /** Stops every service in reverse start order; no restarts from here on. Idempotent. */
  close(graceMs?: number): Promise<void> {
    this.closing ??= (async () => {
      for (const entry of [...this.entries].reverse()) {
        entry.wake?.();
        const child = entry.child;
        if (child) {
          await child.stop(graceMs).catch((err: unknown) => this.logger.error('stopping a service failed', { service: entry.service.name, err }));
        }
        entry.child = undefined;
        this.setState(entry, 'stopped', { pid: undefined });
      }
    })();
    return this.closing;
  }

  private attach(entry: Entry, child: ChildHandle): void {
    entry.child = child;
    const startedAtMs = this.clock();
    this.setState(entry, 'running', { pid: child.pid, endpoints: child.endpoints });
    void child.exited.then((exit) => {
      if (entry.child !== child) return;
      entry.child = undefined;
      if (this.closing) return;
      if (this.clock() - startedAtMs >= this.policy.stableAfterMs) entry.backoffMs = this.policy.initialBackoffMs;
      entry.status.lastExit = { ...exit, atMs: this.clock() };
      this.logger.error('service exited unexpectedly', { service: entry.service.name, code: exit.code, signal: exit.signal });
      void this.restart(entry);
    });
  }

  /** Restarts after the backoff, again and again, until it runs, the budget is spent or the supervisor closes. */
  private async restart(entry: Entry): Promise<void> {
    const name = entry.service.name;
    for (;;) {
      const now = this.clock();
      entry.restartTimes = entry.restartTimes.filter((t) => now - t < this.policy.budgetWindowMs);
      if (entry.restartTimes.length >= this.policy.maxRestarts) {
        const reason = `restarted ${entry.restartTimes.length} times within ${this.policy.budgetWindowMs} ms; giving up`;
        this.logger.error('service failed for good', { service: name, reason, plane: entry.service.plane });
        this.setState(entry, 'failed', { pid: undefined, reason });
        if (entry.service.plane === 'data') this.options.onFatal?.(name, reason);
        return;
      }
      const delayMs = entry.backoffMs;
      entry.backoffMs = Math.min(entry.backoffMs * 2, this.policy.maxBackoffMs);
      this.setState(entry, 'backoff', { pid: undefined });
      this.logger.warn('restarting service', { service: name, inMs: delayMs, restart: entry.status.restarts + 1 });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        timer.unref();
        entry.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      entry.wake = undefined;
      if (this.closing) return;
      entry.restartTimes.push(this.clock());
      entry.status.restarts++;
      this.setState(entry, 'starting');
      try {
        const child = await entry.service.start();
        if (this.closing) {
          await child.stop();
          return;
        }
        this.logger.info('service restarted', { service: name, pid: child.pid, restarts: entry.status.restarts });
        this.attach(entry, child);
        return;
      } catch (err) {
        this.logger.error('restarting service failed', { service: name, err });
      }
    }
  }

  private setState(entry: Entry, state: ServiceState, fields: Partial<ServiceStatus> = {}): void {
    Object.assign(entry.status, { state, ...fields });
    if (state !== 'failed') delete entry.status.reason;
    this.changed();
  }

  private changed(): void {
    try {
      this.options.onChange?.(this.status());
    } catch (err) {
      this.logger.warn('reporting service states failed', { err });
    }
  }
}

/** The supervisor's table, as `up` prints it and `up status` shows it. */
export function formatStatusTable(statuses: readonly ServiceStatus[]): string {
  const rows = statuses.map((s) => [
    s.name,
    s.state,
    s.pid === undefined ? '-' : String(s.pid),
    String(s.restarts),
    s.lastExit ? describeExit(s.lastExit) : '-',
    [...Object.entries(s.endpoints).map(([k, v]) => `${k}=${v}`), ...(s.reason ? [`(${s.reason})`] : [])].join(' '),
  ]);
  const header = ['SERVICE', 'STATE', 'PID', 'RESTARTS', 'LAST EXIT', 'ENDPOINTS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** `code 1`, `signal SIGKILL`. */
export function describeExit(exit: ExitStatus): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code ?? '?'}`;
}
