import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort } from '../net/index.js';
import { connectNats, type ConnectNatsOptions } from './connect.js';
import { NatsServerProcess, type NatsRouteAuth, type NatsRouteTls, type NatsServerTls, type NatsUser } from './nats-server-process.js';

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
  /** HTTP monitoring port (`/routez`...; 0: a free one). Default: off. */
  monitorPort?: number;
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
  /**
   * Client TLS of every member (nats-server's `tls {}`; with `clientCaFile`, mTLS).
   * A function gives each member its own certificate, which must cover the
   * member's host. Default: plaintext.
   */
  tls?: NatsServerTls | ((member: NatsClusterMemberInfo) => NatsServerTls | Promise<NatsServerTls>);
  /** The users every member accepts (the same list on each). Default: anyone may connect. */
  users?: NatsUser[];
  /**
   * Mutual TLS on the routes between members; each member's certificate must
   * cover its host (the dialing peer checks it). With it, a server without a
   * certificate from the CA cannot join. Default: plaintext routes.
   */
  routeTls?: NatsRouteTls | ((member: NatsClusterMemberInfo) => NatsRouteTls | Promise<NatsRouteTls>);
  /**
   * Credentials every route presents. Default: with `routeTls`, a random
   * password made for this cluster (so a server holding some other certificate
   * of the same CA still cannot join); without, none.
   */
  routeAuth?: NatsRouteAuth;
  /**
   * How start() and waitForJetStream() connect (TLS files, an nkey seed allowed
   * `$JS.API.INFO`): required with `users`. Default: plaintext, no credentials.
   */
  client?: Pick<ConnectNatsOptions, 'tls' | 'nkeySeed'>;
}

/** A member as NatsCluster lays it out: what its certificates are made for. */
export interface NatsClusterMemberInfo {
  index: number;
  /** `<cluster name>-<index>`. */
  serverName: string;
  host: string;
}

/**
 * A JetStream cluster of nats-server child processes (three by default, routes
 * on free ports), for tests and for the multi-host test's namespaces. Members
 * can be stopped and started one by one (`member(i)`), with their data.
 */
export class NatsCluster {
  readonly members: NatsServerProcess[] = [];
  #routes: string[] = [];
  readonly #options: NatsClusterOptions;

  constructor(options: NatsClusterOptions) {
    if (options.users && !options.client?.nkeySeed) {
      throw new Error('a NatsCluster with users needs `client.nkeySeed` (a user allowed $JS.API.INFO): start() checks through it that JetStream answers');
    }
    this.#options = options;
  }

  /** Every member's client URL, comma-separated: what `--nats` takes so a client moves between them. */
  get url(): string {
    return this.members.map((m) => m.url).join(',');
  }

  /** Every member's route listener, `nats://host:port` (no credentials); empty before start(). */
  get routeUrls(): string[] {
    return [...this.#routes];
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
    this.#routes = routes;
    const o = this.#options;
    // One password for the whole cluster, kept for its lifetime: a member restarted with start() presents the same.
    const routeAuth = o.routeAuth ?? (o.routeTls ? { user: 'route', password: randomBytes(24).toString('hex') } : undefined);
    for (const [index, m] of resolved.entries()) {
      const info: NatsClusterMemberInfo = { index, serverName: m.serverName, host: m.host };
      const tls = typeof o.tls === 'function' ? await o.tls(info) : o.tls;
      const routeTls = typeof o.routeTls === 'function' ? await o.routeTls(info) : o.routeTls;
      this.members.push(
        new NatsServerProcess({
          dataDir: join(o.dataDir, m.serverName),
          host: m.host,
          port: m.port,
          cluster: { name, serverName: m.serverName, routePort: m.routePort, routes, ...(routeTls ? { tls: routeTls } : {}), ...(routeAuth ? { authorization: routeAuth } : {}) },
          ...(m.launcher ? { launcher: m.launcher } : {}),
          ...(m.monitorPort !== undefined ? { monitorPort: m.monitorPort } : {}),
          ...(tls ? { tls } : {}),
          ...(o.users ? { users: o.users } : {}),
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
    const nc = await connectNats({ url, name: 'nats-cluster-start', reconnectTimeWaitMs: 100, ...this.#options.client });
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
