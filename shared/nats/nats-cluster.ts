import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort } from '../net/index.js';
import { NatsServerProcess } from './nats-server-process.js';

/** One member of a {@link NatsCluster}: where it runs. */
export interface NatsClusterMemberOptions {
  /** Address it binds (client and route listeners). Default 127.0.0.1. */
  host?: string;
  /** Client port. Default: a free port on `host`. */
  port?: number;
  /** Route port. Default: a free port on `host`. */
  routePort?: number;
  /** Command prefix to run it through (e.g. `ip netns exec NS`). Default: none. */
  launcher?: string[];
}

/** Options of {@link NatsCluster}. */
export interface NatsClusterOptions {
  /** Each member keeps its JetStream data in `<dataDir>/<serverName>`. */
  dataDir: string;
  /** The members; default three on 127.0.0.1 with free ports. */
  members?: NatsClusterMemberOptions[];
  /** Cluster name. Default `infermesh`. */
  name?: string;
  /** How long start() waits for the cluster's JetStream to answer. Default 30000 ms. */
  startTimeoutMs?: number;
}

/**
 * A JetStream cluster of nats-server child processes (three by default, routes
 * on free ports), for tests and for the multi-host test's namespaces. Members
 * can be stopped and started one by one (`member(i)`), with their data.
 */
export class NatsCluster {
  readonly members: NatsServerProcess[] = [];
  readonly #options: NatsClusterOptions;

  constructor(options: NatsClusterOptions) {
    this.#options = options;
  }

  /** Every member's client URL, comma-separated: what `--nats` takes so a client moves between them. */
  get url(): string {
    return this.members.map((m) => m.url).join(',');
  }

  member(index: number): NatsServerProcess {
    const m = this.members[index];
    if (!m) throw new Error(`the cluster has no member ${index} (it has ${this.members.length})`);
    return m;
  }

  /** Starts every member, then resolves once JetStream answers through each (a meta leader was elected). */
  async start(): Promise<void> {
    if (this.members.length > 0) return;
    const specs = this.#options.members ?? [{}, {}, {}];
    const name = this.#options.name ?? 'infermesh';
    const resolved = [];
    for (const [i, m] of specs.entries()) {
      const host = m.host ?? '127.0.0.1';
      resolved.push({ ...m, host, serverName: `${name}-${i}`, port: m.port ?? (await freePort(host)), routePort: m.routePort ?? (await freePort(host)) });
    }
    const routes = resolved.map((m) => `nats://${m.host}:${m.routePort}`);
    for (const m of resolved) {
      this.members.push(
        new NatsServerProcess({
          dataDir: join(this.#options.dataDir, m.serverName),
          host: m.host,
          port: m.port,
          cluster: { name, serverName: m.serverName, routePort: m.routePort, routes },
          ...(m.launcher ? { launcher: m.launcher } : {}),
        }),
      );
    }
    try {
      await Promise.all(this.members.map((m) => m.start()));
      await Promise.all(this.members.map((m) => this.waitForJetStream(m.url)));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Resolves once JetStream answers an account-info request through `url` (default: any member). */
  async waitForJetStream(url = this.url, timeoutMs = this.#options.startTimeoutMs ?? 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const nc = await connect({ servers: url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      let last: unknown;
      while (Date.now() < deadline) {
        try {
          await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
          return;
        } catch (err) {
          last = err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error(`JetStream of the cluster did not answer through ${url} within ${timeoutMs} ms: ${(last as Error | undefined)?.message}`);
    } finally {
      await nc.close();
    }
  }

  /** Stops every member. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}
