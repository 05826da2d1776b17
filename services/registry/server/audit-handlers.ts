import { invalidArgument } from '../../../shared/errors/index.js';
import type { ModelRegistryHandlers } from '../../../shared/generated/infermesh/registry/v1/ModelRegistry.js';
import type { AuditEntry } from '../audit/index.js';
import type { RegistryStore } from '../store/index.js';
import { adminUnary, type AdminHandlerDeps } from './admin-unary.js';
import { checkByteCount, checkModelName } from './validate.js';

/** The audit RPCs of ModelRegistry. */
export type AuditHandlers = Pick<ModelRegistryHandlers, 'ListAudit' | 'VerifyAudit' | 'GetModelHistory'>;

/** Default and largest ListAudit page. */
const DEFAULT_AUDIT_PAGE = 100;
const MAX_AUDIT_PAGE = 1000;

/** ModelRegistry's audit RPCs: the log, its verification, and alias history at a time. */
export function createAuditHandlers(deps: AdminHandlerDeps & { store: RegistryStore; clock?: () => number }): AuditHandlers {
  const { store } = deps;
  const clock = deps.clock ?? Date.now;
  return {
    ListAudit: adminUnary(deps, 'ListAudit', async (req) => {
      const limit = req.limit === 0 ? DEFAULT_AUDIT_PAGE : req.limit;
      if (limit > MAX_AUDIT_PAGE) throw invalidArgument(`limit must be at most ${MAX_AUDIT_PAGE}, got ${limit}`);
      const model = req.model ? checkModelName(req.model, 'model') : undefined;
      const from = Math.max(1, checkByteCount(req.fromSequence, 'from_sequence'));
      // One more than asked tells whether another page follows.
      const entries = await store.listAudit({ model, fromSequence: from, limit: limit + 1 });
      const page = entries.slice(0, limit);
      return { entries: page.map(auditToProto), nextSequence: entries.length > limit ? entries[limit]!.sequence : 0 };
    }),

    VerifyAudit: adminUnary(deps, 'VerifyAudit', async () => store.verifyAudit()),

    GetModelHistory: adminUnary(deps, 'GetModelHistory', async (req) => {
      const model = checkModelName(req.model, 'model');
      const requested = Number(req.atUnixMs);
      if (!Number.isSafeInteger(requested) || requested < 0) throw invalidArgument(`at_unix_ms must be a time in ms since the epoch, got ${req.atUnixMs}`);
      const atMs = requested === 0 ? clock() : requested;
      const aliases = await store.aliasesAt(model, atMs);
      return {
        model,
        atUnixMs: atMs,
        aliases: aliases.map((a) => ({ alias: a.alias, version: a.version, weight: a.weight, auditSequence: a.sequence, setAtUnixMs: a.atMs, setBy: a.subject })),
      };
    }),
  };
}

function auditToProto(e: AuditEntry) {
  return {
    sequence: e.sequence,
    atUnixMs: e.atMs,
    subject: e.subject,
    address: e.address,
    action: e.action,
    model: e.model,
    detailsJson: e.detailsJson,
    previousHash: e.previousHash,
    hash: e.hash,
  };
}
