import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createConnection, isIP } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../net/index.js';
import type { NatsPermissions } from './nats-permissions.js';

/** Where nats-server is looked for, in order, when `NATS_SERVER` does not name it. */
const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export class NatsServerMissingError extends Error {
  override readonly name = 'NatsServerMissingError';
  constructor() {
    super(
      'nats-server was not found (looked at $NATS_SERVER, ' + CANDIDATES.join(', ') + ' and $PATH). ' +
        'Install it with `apt-get install nats-server` (Debian/Ubuntu), or point NATS_URL at a running NATS server with JetStream.',
    );
  }
}

/** The nats-server binary to run, or a NatsServerMissingError that says how to install one. */
export function findNatsServer(): string {
  const fromEnv = process.env.NATS_SERVER;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const c of CANDIDATES) if (existsSync(c)) return c;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  throw new NatsServerMissingError();
}

export interface NatsServerOptions {
  /** Folder for JetStream's data (created if missing). Required: every server gets its own. */
  dataDir: string;
  /** Port to listen on. Default: a free port. */
  port?: number;
  /** Host to bind. Default: 127.0.0.1. */
  host?: string;
  /** How long to wait for the server to accept connections. Default: 15000 ms. */
  startTimeoutMs?: number;
  /**
   * Run the server in its own process group, so that a terminal's Ctrl-C reaches
   * only the owner, which then stops the server last (`infermesh up`). Default
   * false: in tests the server should die with its owner's group.
   */
  ownProcessGroup?: boolean;
  /** Membership of a JetStream cluster (see nats-cluster.ts): routes, names. Default: a single server. */
  cluster?: NatsClusterMembership;
  /** Runs nats-server through this command prefix, e.g. `['ip', 'netns', 'exec', 'ns1']`. Default: none. */
  launcher?: string[];
  /** Serve clients over TLS (nats-server's `tls {}` block). Default: plaintext. */
  tls?: NatsServerTls;
  /**
   * Accept only these users (nats-server's `authorization { users = [...] }`),
   * each with its subject permissions. Default: anyone may connect and do anything.
   */
  users?: NatsUser[];
  /**
   * Serve nats-server's HTTP monitoring (`/varz`, `/routez`, `/healthz`) on this
   * port of `host` (0: a free one, fixed at the first start). Default: off.
   */
  monitorPort?: number;
}

/** nats-server's client TLS: the server's certificate and, for mTLS, the CA client certificates must chain to. */
export interface NatsServerTls {
  certFile: string;
  keyFile: string;
  /** With it, clients must present a certificate signed by this CA (`verify: true`). */
  clientCaFile?: string;
}

/** One NATS user: an nkey (public, `U...`) and what it may publish and subscribe to. */
export interface NatsUser {
  nkey: string;
  permissions: NatsPermissions;
}

/**
 * The nats-server configuration file for `tls` and `users` (undefined when
 * neither is given). Strings are written JSON-quoted, which nats-server's
 * parser reads as plain strings (`$JS.API.>` included).
 */
export function natsServerConfig(options: Pick<NatsServerOptions, 'tls' | 'users' | 'cluster' | 'host'>): string | undefined {
  if (!options.tls && !options.users && !options.cluster) return undefined;
  const q = JSON.stringify;
  const lines: string[] = ['# Written by infermesh (shared/nats/nats-server-process.ts); rewritten on every start.'];
  if (options.cluster) {
    // A member cut off by the network is dropped by its peers (routes) and clients within seconds:
    // nats-server's default of 2 minutes x 2 pings keeps routing requests (JetStream direct gets,
    // queue members) to it long after its raft peers elected around it.
    lines.push(`ping_interval: "${CLUSTER_PING_INTERVAL_S}s"`, `ping_max: ${CLUSTER_PING_MAX}`);
    if (isSecuredCluster(options.cluster)) lines.push(...securedClusterBlock(options.cluster, options.host ?? '127.0.0.1'));
  }
  if (options.tls) {
    lines.push('tls {', `  cert_file: ${q(options.tls.certFile)}`, `  key_file: ${q(options.tls.keyFile)}`);
    if (options.tls.clientCaFile) lines.push(`  ca_file: ${q(options.tls.clientCaFile)}`, '  verify: true');
    lines.push('  timeout: 5', '}');
  }
  if (options.users) {
    lines.push('authorization {', '  users = [');
    for (const u of options.users) {
      if (!/^U[A-Z2-7]{55}$/.test(u.nkey)) throw new Error(`a NATS user nkey must be a public user key (U followed by 55 base32 characters), got '${u.nkey}'`);
      lines.push(`    { nkey: ${q(u.nkey)}, permissions: { publish: { allow: ${q(u.permissions.publish)} }, subscribe: { allow: ${q(u.permissions.subscribe)} } } }`);
    }
    lines.push('  ]', '}');
  }
  return lines.join('\n') + '\n';
}

/** A cluster member pings its routes and clients this often (s) and drops one after this many unanswered. */
const CLUSTER_PING_INTERVAL_S = 2;
const CLUSTER_PING_MAX = 2;

/** What makes a nats-server one member of a cluster. */
export interface NatsClusterMembership {
  /** The cluster's name (the same on every member). */
  name: string;
  /** This member's server name (unique in the cluster; JetStream needs it). */
  serverName: string;
  /** Port of the route listener, on the server's host. */
  routePort: number;
  /** `nats://host:port` of the other members' route listeners (its own may be listed too), without credentials. */
  routes: string[];
  /**
   * Mutual TLS on the routes: this member's certificate (presented both when it
   * accepts a route and when it dials one, so it must cover the member's host,
   * which the dialing peer checks) and the CA every peer's certificate must
   * chain to (`verify: true`). A server without such a certificate cannot join.
   */
  tls?: NatsRouteTls;
  /**
   * Credentials every route must present (`cluster { authorization }`); this
   * member presents them too when it dials the others (written into its route
   * URLs). With `tls`, a holder of some other certificate of the same CA (a
   * client's, a service's) still cannot join without them.
   */
  authorization?: NatsRouteAuth;
}

/** A cluster member's route TLS (see {@link NatsClusterMembership.tls}). */
export interface NatsRouteTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** The user name and password every route of a cluster authenticates with (the same on every member). */
export interface NatsRouteAuth {
  user: string;
  password: string;
}

function isSecuredCluster(c: NatsClusterMembership): boolean {
  return c.tls !== undefined || c.authorization !== undefined;
}

/**
 * The `server_name` and `cluster {}` block of a secured member. A secured
 * cluster is configured in the file only (not with --cluster/--routes flags):
 * route credentials in a command line would show in `ps` to every local user,
 * while the file is mode 0600.
 */
function securedClusterBlock(c: NatsClusterMembership, host: string): string[] {
  const q = JSON.stringify;
  const auth = c.authorization;
  if (auth) {
    // nats-server reads them from route URLs, where ':' '@' '/' would break the URL: keep them plain.
    for (const [what, value] of [['user', auth.user], ['password', auth.password]] as const) {
      if (!/^[A-Za-z0-9_.~-]{1,128}$/.test(value)) throw new Error(`a NATS route ${what} must be 1-128 characters of A-Z a-z 0-9 _ . ~ -, got ${what === 'password' ? 'another' : `'${value}'`}`);
    }
  }
  const routes = c.routes.map((r) => {
    if (!auth) return r;
    const url = new URL(r);
    if (url.username || url.password) throw new Error(`a route URL of a cluster with route credentials must carry none itself, got one in '${url.host}'`);
    url.username = auth.user;
    url.password = auth.password;
    return url.toString().replace(/\/$/, '');
  });
  const lines = [`server_name: ${q(c.serverName)}`, 'cluster {', `  name: ${q(c.name)}`, `  listen: ${q(`${hostForUrl(host)}:${c.routePort}`)}`];
  if (c.tls) {
    lines.push('  tls {', `    cert_file: ${q(c.tls.certFile)}`, `    key_file: ${q(c.tls.keyFile)}`, `    ca_file: ${q(c.tls.caFile)}`, '    verify: true', '    timeout: 5', '  }');
  }
  if (auth) lines.push('  authorization {', `    user: ${q(auth.user)}`, `    password: ${q(auth.password)}`, '    timeout: 5', '  }');
  lines.push(`  routes: ${q(routes)}`, '}');
  return lines;
}

function hostForUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function clusterArgs(c: NatsClusterMembership | undefined, host: string): string[] {
  // A secured member has its whole cluster block in the config file (securedClusterBlock).
  if (!c || isSecuredCluster(c)) return [];
  return ['--name', c.serverName, '--cluster_name', c.name, '--cluster', `nats://${host}:${c.routePort}`, '--routes', c.routes.join(',')];
}

/**
 * A nats-server child process with JetStream on, owned by the caller: for
 * `infermesh up` and for tests. `stop()` ends it; `start()` again brings it back
 * on the same port and data directory (JetStream state survives).
 */
export class NatsServerProcess {
  readonly host: string;
  readonly dataDir: string;
  private portValue: number | undefined;
  private monitorPortValue: number | undefined;
  private child: ChildProcess | undefined;
  private readonly startTimeoutMs: number;
  private stderrTail = '';
  private exitedPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

  /** How many config reloads the server's log has told of (done or failed), and the last such line. */
  private reloadsSeen = 0;
  private lastReloadLine = '';
  private partialLine = '';
  private readonly options: NatsServerOptions;

  constructor(options: NatsServerOptions) {
    this.options = { ...options };
    this.host = options.host ?? '127.0.0.1';
    this.dataDir = options.dataDir;
    this.portValue = options.port;
    this.monitorPortValue = options.monitorPort || undefined;
    this.startTimeoutMs = options.startTimeoutMs ?? 15_000;
  }

  get port(): number {
    if (this.portValue === undefined) throw new Error('nats-server has not started');
    return this.portValue;
  }

  /** Process id of the running server (its process group id with `ownProcessGroup`); undefined when not running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves when the server started last exits, however it ended (a supervisor restarts it with start()). */
  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exitedPromise) throw new Error('nats-server has not started');
    return this.exitedPromise;
  }

  /** `nats://host:port` (also with `tls`: the client upgrades when the server's INFO asks for TLS). */
  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  /** `http://host:port` of the HTTP monitoring (`/routez`, `/varz`), with `monitorPort`; undefined without. */
  get monitorUrl(): string | undefined {
    return this.monitorPortValue === undefined ? undefined : `http://${hostForUrl(this.host)}:${this.monitorPortValue}`;
  }

  /** The last 4000 characters the server wrote to stderr (its log: handshake and authorization errors among them). */
  get logTail(): string {
    return this.stderrTail;
  }

  /** Starts the server and resolves once it accepts TCP connections. */
  async start(): Promise<void> {
    if (this.child) return;
    const bin = findNatsServer();
    this.portValue ??= this.options.port ?? (await freePort(this.host));
    if (this.options.monitorPort !== undefined) this.monitorPortValue ??= await freePort(this.host);
    mkdirSync(this.dataDir, { recursive: true });
    const configFile = this.writeConfig();
    const configArgs = configFile === undefined ? [] : ['-c', configFile];
    const monitorArgs = this.monitorPortValue === undefined ? [] : ['-m', String(this.monitorPortValue)];
    const args = [...configArgs, '-a', this.host, '-p', String(this.port), ...monitorArgs, '-js', '-sd', this.dataDir, ...clusterArgs(this.options.cluster, this.host)];
    const argv = [...(this.options.launcher ?? []), bin, ...args];
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: this.options.ownProcessGroup ?? false,
    });
    this.child = child;
    this.exitedPromise = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.partialLine = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.stderrTail = (this.stderrTail + text).slice(-4000);
      const lines = (this.partialLine + text).split('\n');
      this.partialLine = (lines.pop() ?? '').slice(-4000);
      for (const line of lines) {
        if (/Reloaded server configuration|Failed to reload/.test(line)) {
          this.reloadsSeen++;
          this.lastReloadLine = line;
        }
      }
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + this.startTimeoutMs;
    while (!(await canConnect(this.host, this.port))) {
      if (!this.child) throw new Error(`nats-server exited during start-up: ${this.stderrTail}`);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`nats-server did not accept connections on ${this.url} within ${this.startTimeoutMs} ms: ${this.stderrTail}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Applies a new user list to the running server without a restart: rewrites
   * the config file and has nats-server reload it (SIGHUP), resolving once its
   * log says it reloaded (rejecting with its reason when it did not, or after
   * `timeoutMs`). nats-server closes the connections of users no longer listed.
   * A later start() uses the new list too. Needs a server started with a config
   * file (tls, users or cluster given).
   */
  async reload(changes: { users: NatsUser[] }, timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child?.pid) throw new Error('nats-server is not running: nothing to reload');
    if (natsServerConfig(this.options) === undefined) throw new Error('nats-server was started without a config file (no tls, users or cluster): it cannot reload users');
    this.options.users = changes.users;
    this.writeConfig();
    const seen = this.reloadsSeen;
    child.kill('SIGHUP');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.reloadsSeen > seen) {
        const line = this.lastReloadLine;
        if (/Failed to reload/.test(line)) throw new Error(`nats-server did not reload its configuration: ${line.replace(/^.*Failed to reload/, 'Failed to reload')}`);
        return;
      }
      if (this.child !== child) throw new Error(`nats-server exited while reloading its configuration: ${this.stderrTail.slice(-1000)}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not report a configuration reload within ${timeoutMs} ms: ${this.stderrTail.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Writes the config file (mode 0600) from the options; its path, or undefined when none is needed. */
  private writeConfig(): string | undefined {
    const config = natsServerConfig(this.options);
    if (config === undefined) return undefined;
    const file = join(this.dataDir, 'nats-server.conf');
    writeFileSync(file, config, { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and resolves when it has exited. Idempotent. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      kill.unref();
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
