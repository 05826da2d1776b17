import { Command } from 'commander';
import type { TokenInfo__Output } from '../../../shared/generated/infermesh/registry/v1/TokenInfo.js';
import { usageExitCodes } from './cli-errors.js';
import { TOKEN_ENV, isoTime, parseDurationMs, registryAddressOption, table, withGovernanceClient } from './governance-cli.js';

interface CreateFlags {
  registry?: string;
  subject: string;
  scope: string[];
  model: string[];
  ttl?: string;
}

/** `infermesh tokens create|list|revoke`: the registry's signed, scoped tokens. */
export function tokensCommand(): Command {
  const tokens = usageExitCodes(new Command('tokens').description(`Create, list and revoke the registry's scoped tokens (the CLI sends ${TOKEN_ENV} when set).`));

  tokens
    .command('create')
    .description('Issue a token; it is printed once on stdout (export it as INFERMESH_TOKEN), its details on stderr.')
    .requiredOption('--subject <name>', 'who the token speaks for (a user or service)')
    .option('--scope <scope>', 'infer, models:read, models:write, models:promote, models:delete, traces:read, feedback:write or admin (repeatable)', collect, [])
    .option('--model <glob>', 'limit the token to models matching this glob, e.g. fraud-* (repeatable; default every model)', collect, [])
    .option('--ttl <duration>', 'lifetime: 90m, 12h, 30d, ... (default 30d, at most 366d)')
    .addOption(registryAddressOption())
    .action((flags: CreateFlags) =>
      withGovernanceClient('tokens create', flags, async (client) => {
        const ttlMs = flags.ttl === undefined ? 0 : parseDurationMs(flags.ttl, '--ttl');
        const { token, info } = await client.createToken({ subject: flags.subject, scopes: flags.scope, models: flags.model, ttlMs });
        process.stderr.write(`token ${info!.tokenId} for ${info!.subject}: ${info!.scopes.join(', ')}${info!.models.length ? ` on ${info!.models.join(', ')}` : ''}, expires ${isoTime(info!.expiresAtUnixMs)}\n`);
        process.stdout.write(`${token}\n`);
      }),
    );

  tokens
    .command('list')
    .description('Issued tokens, newest first (ids and hashes; the registry never keeps a token).')
    .option('--all', 'also revoked and expired tokens')
    .addOption(registryAddressOption())
    .action((flags: { registry?: string; all?: boolean }) =>
      withGovernanceClient('tokens list', flags, async (client) => {
        const list = await client.listTokens(flags.all === true);
        process.stdout.write(table(['ID', 'SUBJECT', 'SCOPES', 'MODELS', 'EXPIRES', 'STATUS', 'CREATED BY'], list.map(row)));
      }),
    );

  tokens
    .command('revoke')
    .description('Revoke a token by id: recorded in the audit log and announced to every node on NATS.')
    .argument('<token-id>', 'the id from tokens list')
    .addOption(registryAddressOption())
    .action((tokenId: string, flags: { registry?: string }) =>
      withGovernanceClient('tokens revoke', flags, async (client) => {
        const info = await client.revokeToken(tokenId);
        process.stdout.write(`revoked token ${info.tokenId} of ${info.subject} at ${isoTime(info.revokedAtUnixMs)}\n`);
      }),
    );
  return tokens;
}

function row(t: TokenInfo__Output): string[] {
  const status = Number(t.revokedAtUnixMs) > 0 ? 'revoked' : Number(t.expiresAtUnixMs) <= Date.now() ? 'expired' : 'active';
  return [t.tokenId, t.subject, t.scopes.join(','), t.models.join(',') || '*', isoTime(t.expiresAtUnixMs), status, t.createdBy];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
