import { randomUUID } from 'node:crypto';
import { Code, InfermeshError, failedPrecondition, notFound } from '../../../shared/errors/index.js';
import type { RegistryEvent } from '../../../shared/generated/infermesh/events/v1/RegistryEvent.js';
import type { ModelSignature } from '../../../shared/onnx/index.js';
import { encodeRegistryEvent, registryEventSubject, type RegistryEventCase } from '../../../shared/registry-client/index.js';
import { TOKEN_REVOKED_SUBJECT } from '../../../shared/auth/index.js';
import { DEFAULT_ACTOR } from '../audit/index.js';
import { aliasHistory, appendAudit, listAudit, verifyAudit } from './audit-sql.js';
import { schemaStatements } from './schema.js';
import { insertToken, listTokens, markRevoked, tokenIn } from './token-sql.js';
import type { SqlDriver, SqlRow, SqlTx, SqlValue } from './sql-driver.js';
import type {
  AliasRecord,
  Lineage,
  ModelInput,
  ModelRecord,
  NewReference,
  OutboxEvent,
  ReferenceRecord,
  RegistryStore,
  VersionRecord,
  WriteContext,
} from './types.js';

/** Options for {@link createSqlRegistryStore}. */
export interface SqlRegistryStoreOptions {
  /** Milliseconds since the epoch. Default: Date.now. */
  clock?: () => number;
  /** Called after every committed change (each one appended an event), e.g. to wake the outbox publisher. */
  onCommit?: () => void;
}

/**
 * The registry store over either SQL driver: the same statements, the same
 * transactions, the same events, whether the database is SQLite or PostgreSQL.
 * Creates its tables when missing.
 */
export async function createSqlRegistryStore(driver: SqlDriver, options: SqlRegistryStoreOptions = {}): Promise<RegistryStore> {
  const clock = options.clock ?? Date.now;
  const onCommit = options.onCommit ?? (() => {});
  const registryId = await driver.write(async (tx) => {
    for (const sql of schemaStatements(driver)) await tx.run(sql);
    const rows = await tx.all(`SELECT value FROM registry_meta WHERE key = 'registry_id'`);
    if (rows[0]) return String(rows[0].value);
    const id = randomUUID();
    await tx.run(`INSERT INTO registry_meta (key, value) VALUES ('registry_id', ?)`, [id]);
    return id;
  });

  /** Appends one event to the outbox; writes are serialized, so max + 1 is gap-free. */
  const appendOutbox = async (tx: SqlTx, ctx: WriteContext | undefined, subject: string, body: Partial<RegistryEvent>, nowMs: number): Promise<void> => {
    const [row] = await tx.all(`SELECT COALESCE(MAX(sequence), 0) AS last FROM outbox`);
    const sequence = Number(row!.last) + 1;
    const payload = encodeRegistryEvent({ sequence, timeUnixMs: nowMs, registryId, ...body });
    await tx.run(`INSERT INTO outbox (sequence, subject, payload, traceparent, created_at_ms) VALUES (?, ?, ?, ?, ?)`, [
      sequence,
      subject,
      payload,
      ctx?.traceparent ?? null,
      nowMs,
    ]);
  };
  const appendEvent = <K extends RegistryEventCase>(
    tx: SqlTx,
    ctx: WriteContext | undefined,
    kind: K,
    model: string,
    body: NonNullable<RegistryEvent[K]>,
    nowMs: number,
  ): Promise<void> => appendOutbox(tx, ctx, registryEventSubject(kind, model), { [kind]: body }, nowMs);

  const loadModels = async (tx: SqlTx, rows: SqlRow[]): Promise<ModelRecord[]> => {
    if (rows.length === 0) return [];
    const names = rows.map((r) => String(r.name));
    const marks = names.map(() => '?').join(', ');
    const tags = await tx.all(`SELECT model, tag FROM model_tags WHERE model IN (${marks}) ORDER BY tag`, names);
    const labels = await tx.all(`SELECT model, key, value FROM model_labels WHERE model IN (${marks}) ORDER BY key`, names);
    return rows.map((r) => ({
      name: String(r.name),
      description: String(r.description),
      tags: tags.filter((t) => t.model === r.name).map((t) => String(t.tag)),
      labels: Object.fromEntries(labels.filter((l) => l.model === r.name).map((l) => [String(l.key), String(l.value)])),
      latestVersion: Number(r.latest_version),
      createdAtMs: Number(r.created_at_ms),
      updatedAtMs: Number(r.updated_at_ms),
    }));
  };

  const modelIn = async (tx: SqlTx, name: string): Promise<ModelRecord | undefined> =>
    (await loadModels(tx, await tx.all(`SELECT * FROM models WHERE name = ?`, [name])))[0];

  const requireModel = async (tx: SqlTx, name: string): Promise<ModelRecord> => {
    const model = await modelIn(tx, name);
    if (!model) throw notFound(`model '${name}' does not exist`);
    return model;
  };

  const writeTagsAndLabels = async (tx: SqlTx, input: ModelInput) => {
    await tx.run(`DELETE FROM model_tags WHERE model = ?`, [input.name]);
    await tx.run(`DELETE FROM model_labels WHERE model = ?`, [input.name]);
    for (const tag of new Set(input.tags ?? [])) await tx.run(`INSERT INTO model_tags (model, tag) VALUES (?, ?)`, [input.name, tag]);
    for (const [k, v] of Object.entries(input.labels ?? {})) {
      await tx.run(`INSERT INTO model_labels (model, key, value) VALUES (?, ?, ?)`, [input.name, k, v]);
    }
  };

  const insertModel = async (tx: SqlTx, input: ModelInput, ctx: WriteContext | undefined, nowMs: number): Promise<ModelRecord> => {
    if (await modelIn(tx, input.name)) throw new InfermeshError(Code.ALREADY_EXISTS, `model '${input.name}' already exists`);
    await tx.run(`INSERT INTO models (name, description, latest_version, created_at_ms, updated_at_ms) VALUES (?, ?, 0, ?, ?)`, [
      input.name,
      input.description ?? '',
      nowMs,
      nowMs,
    ]);
    await writeTagsAndLabels(tx, input);
    const model = (await modelIn(tx, input.name))!;
    await appendEvent(tx, ctx, 'modelCreated', model.name, modelEventBody(model), nowMs);
    await appendAudit(tx, ctx, { action: 'model.create', model: model.name, details: modelAuditDetails(model) }, nowMs);
    return model;
  };

  const versionIn = async (tx: SqlTx, model: string, version: number): Promise<VersionRecord | undefined> => {
    const [row] = await tx.all(`SELECT * FROM versions WHERE model = ? AND version = ?`, [model, version]);
    return row && toVersion(row);
  };

  const aliasIn = async (tx: SqlTx, model: string, name: string): Promise<AliasRecord | undefined> => {
    const [row] = await tx.all(`SELECT * FROM aliases WHERE model = ? AND name = ?`, [model, name]);
    return row && toAlias(row);
  };

  const upsertAlias = async (
    tx: SqlTx,
    alias: { model: string; name: string; version: number; weight: number },
    ctx: WriteContext | undefined,
    nowMs: number,
  ): Promise<AliasRecord> => {
    const previous = await aliasIn(tx, alias.model, alias.name);
    await tx.run(
      `INSERT INTO aliases (model, name, version, weight, updated_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (model, name) DO UPDATE SET version = excluded.version, weight = excluded.weight, updated_at_ms = excluded.updated_at_ms`,
      [alias.model, alias.name, alias.version, alias.weight, nowMs],
    );
    await appendEvent(tx, ctx, 'aliasChanged', alias.model, {
      model: alias.model,
      alias: alias.name,
      version: alias.version,
      weight: alias.weight,
      previousVersion: previous?.version ?? 0,
    }, nowMs);
    await appendAudit(tx, ctx, {
      action: 'alias.set',
      model: alias.model,
      details: { alias: alias.name, version: alias.version, weight: alias.weight, previousVersion: previous?.version ?? 0, previousWeight: previous?.weight ?? 0 },
    }, nowMs);
    return { ...alias, updatedAtMs: nowMs };
  };

  const upsertReference = async (tx: SqlTx, model: string, version: number, ref: NewReference, ctx: WriteContext | undefined, nowMs: number): Promise<ReferenceRecord> => {
    await tx.run(
      `INSERT INTO version_references (model, version, input, features, sampled_rows, total_rows, payload, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model, version) DO UPDATE SET input = excluded.input, features = excluded.features, sampled_rows = excluded.sampled_rows,
         total_rows = excluded.total_rows, payload = excluded.payload, updated_at_ms = excluded.updated_at_ms`,
      [model, version, ref.input, ref.features, ref.rows, ref.totalRows, ref.payload, nowMs],
    );
    await appendEvent(tx, ctx, 'referenceSet', model, { model, version, input: ref.input, features: ref.features, rows: ref.rows }, nowMs);
    await appendAudit(tx, ctx, { action: 'reference.set', model, details: { version, input: ref.input, features: ref.features, rows: ref.rows, totalRows: ref.totalRows } }, nowMs);
    return { ...ref, model, version, updatedAtMs: nowMs };
  };

  /** A write transaction that appends events; the commit is announced once it is durable. */
  const change = async <T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> => {
    const result = await driver.write(fn);
    onCommit();
    return result;
  };

  const store: RegistryStore = {
    registryId,
    kind: driver.kind,

    createModel: (input, ctx) => change((tx) => insertModel(tx, input, ctx, clock())),

    updateModel: (input, ctx) =>
      change(async (tx) => {
        await requireModel(tx, input.name);
        const nowMs = clock();
        await tx.run(`UPDATE models SET description = ?, updated_at_ms = ? WHERE name = ?`, [input.description ?? '', nowMs, input.name]);
        await writeTagsAndLabels(tx, input);
        const model = (await modelIn(tx, input.name))!;
        await appendEvent(tx, ctx, 'modelUpdated', model.name, modelEventBody(model), nowMs);
        await appendAudit(tx, ctx, { action: 'model.update', model: model.name, details: modelAuditDetails(model) }, nowMs);
        return model;
      }),

    getModel: (name) => driver.read((tx) => modelIn(tx, name)),

    listModels: (query) =>
      driver.read(async (tx) => {
        const where: string[] = ['m.name > ?'];
        const params: SqlValue[] = [decodePageToken(query.pageToken)];
        if (query.namePrefix) {
          where.push('substr(m.name, 1, ?) = ?');
          params.push(query.namePrefix.length, query.namePrefix);
        }
        if (query.tag) {
          where.push('EXISTS (SELECT 1 FROM model_tags t WHERE t.model = m.name AND t.tag = ?)');
          params.push(query.tag);
        }
        for (const [k, v] of Object.entries(query.labels ?? {})) {
          where.push('EXISTS (SELECT 1 FROM model_labels l WHERE l.model = m.name AND l.key = ? AND l.value = ?)');
          params.push(k, v);
        }
        params.push(query.pageSize + 1);
        const rows = await tx.all(`SELECT m.* FROM models m WHERE ${where.join(' AND ')} ORDER BY m.name LIMIT ?`, params);
        const more = rows.length > query.pageSize;
        const models = await loadModels(tx, rows.slice(0, query.pageSize));
        return { models, nextPageToken: more ? encodePageToken(models[models.length - 1]!.name) : '' };
      }),

    createVersion: (input, ctx) =>
      change(async (tx) => {
        const nowMs = clock();
        const model = (await modelIn(tx, input.model)) ?? (input.createModelIfMissing ? await insertModel(tx, { name: input.model }, ctx, nowMs) : undefined);
        if (!model) throw notFound(`model '${input.model}' does not exist`);
        let version = input.version ?? 0;
        if (version === 0) version = model.latestVersion + 1;
        else if (version <= model.latestVersion) {
          const taken = await versionIn(tx, input.model, version);
          throw new InfermeshError(
            Code.ALREADY_EXISTS,
            taken
              ? `model '${input.model}' already has version ${version}`
              : `version ${version} of model '${input.model}' was used before (numbers are never reused; the next is ${model.latestVersion + 1})`,
          );
        }
        await tx.run(`UPDATE models SET latest_version = ?, updated_at_ms = ? WHERE name = ?`, [version, nowMs, input.model]);
        const record: VersionRecord = {
          model: input.model,
          version,
          sha256: input.sha256,
          sizeBytes: input.sizeBytes,
          description: input.description ?? '',
          labels: input.labels ?? {},
          lineage: { trainingRunId: '', dataset: '', metrics: {}, parentVersion: 0, ...input.lineage },
          configJson: input.configJson || '{}',
          signature: input.signature,
          createdAtMs: nowMs,
        };
        await tx.run(
          `INSERT INTO versions (model, version, sha256, size_bytes, description, labels, lineage, config_json, signature, created_at_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            record.model,
            record.version,
            record.sha256,
            record.sizeBytes,
            record.description,
            JSON.stringify(record.labels),
            JSON.stringify(record.lineage),
            record.configJson,
            JSON.stringify(record.signature),
            nowMs,
          ],
        );
        await appendEvent(tx, ctx, 'versionCreated', record.model, {
          model: record.model,
          version: record.version,
          sha256: record.sha256,
          sizeBytes: record.sizeBytes,
          signature: record.signature,
          configJson: record.configJson,
          labels: record.labels,
          description: record.description,
          lineage: record.lineage,
        }, nowMs);
        await appendAudit(tx, ctx, {
          action: 'version.create',
          model: record.model,
          details: { version: record.version, sha256: record.sha256, sizeBytes: record.sizeBytes, description: record.description, labels: record.labels, lineage: record.lineage },
        }, nowMs);
        if (input.reference) await upsertReference(tx, record.model, version, input.reference, ctx, nowMs);
        const alias = input.alias ? await upsertAlias(tx, { model: record.model, version, ...input.alias }, ctx, nowMs) : undefined;
        return { version: record, alias };
      }),

    getVersion: (model, version) => driver.read((tx) => versionIn(tx, model, version)),

    listVersions: (model) =>
      driver.read(async (tx) => (await tx.all(`SELECT * FROM versions WHERE model = ? ORDER BY version`, [model])).map(toVersion)),

    deleteVersion: (model, version, ctx) =>
      change(async (tx) => {
        await requireModel(tx, model);
        const record = await versionIn(tx, model, version);
        if (!record) throw notFound(`model '${model}' has no version ${version}`);
        const aliases = await tx.all(`SELECT name FROM aliases WHERE model = ? AND version = ? ORDER BY name`, [model, version]);
        if (aliases.length > 0) {
          const names = aliases.map((a) => String(a.name)).join(', ');
          throw failedPrecondition(`version ${version} of model '${model}' is aliased (${names}); move or delete the alias first`);
        }
        const nowMs = clock();
        await tx.run(`DELETE FROM version_references WHERE model = ? AND version = ?`, [model, version]);
        await tx.run(`DELETE FROM versions WHERE model = ? AND version = ?`, [model, version]);
        await tx.run(`UPDATE models SET updated_at_ms = ? WHERE name = ?`, [nowMs, model]);
        await appendEvent(tx, ctx, 'versionDeleted', model, { model, version, sha256: record.sha256 }, nowMs);
        await appendAudit(tx, ctx, { action: 'version.delete', model, details: { version, sha256: record.sha256 } }, nowMs);
        return record;
      }),

    countVersions: () => driver.read(async (tx) => Number((await tx.all(`SELECT COUNT(*) AS n FROM versions`))[0]!.n)),

    countArtifactUses: (sha256) =>
      driver.read(async (tx) => Number((await tx.all(`SELECT COUNT(*) AS n FROM versions WHERE sha256 = ?`, [sha256]))[0]!.n)),

    setReference: (model, version, reference, ctx) =>
      change(async (tx) => {
        await requireModel(tx, model);
        if (!(await versionIn(tx, model, version))) throw notFound(`model '${model}' has no version ${version}`);
        return upsertReference(tx, model, version, reference, ctx, clock());
      }),

    getReference: (model, version) =>
      driver.read(async (tx) => {
        const [row] = await tx.all(`SELECT * FROM version_references WHERE model = ? AND version = ?`, [model, version]);
        return row && { ...toReferenceInfo(row), payload: row.payload as Uint8Array };
      }),

    setAlias: (alias, ctx) =>
      change(async (tx) => {
        await requireModel(tx, alias.model);
        if (!(await versionIn(tx, alias.model, alias.version))) throw notFound(`model '${alias.model}' has no version ${alias.version}`);
        return upsertAlias(tx, alias, ctx, clock());
      }),

    deleteAlias: (model, name, ctx) =>
      change(async (tx) => {
        await requireModel(tx, model);
        const previous = await aliasIn(tx, model, name);
        if (!previous) throw notFound(`model '${model}' has no alias '${name}'`);
        await tx.run(`DELETE FROM aliases WHERE model = ? AND name = ?`, [model, name]);
        const nowMs = clock();
        await appendEvent(tx, ctx, 'aliasChanged', model, { model, alias: name, version: 0, weight: 0, previousVersion: previous.version }, nowMs);
        await appendAudit(tx, ctx, { action: 'alias.delete', model, details: { alias: name, previousVersion: previous.version, previousWeight: previous.weight } }, nowMs);
      }),

    getAlias: (model, name) => driver.read((tx) => aliasIn(tx, model, name)),

    listAliases: (model) =>
      driver.read(async (tx) => (await tx.all(`SELECT * FROM aliases WHERE model = ? ORDER BY name`, [model])).map(toAlias)),

    eventsFrom: (fromSequence, limit) =>
      driver.read(async (tx) => (await tx.all(`SELECT * FROM outbox WHERE sequence >= ? ORDER BY sequence LIMIT ?`, [fromSequence, limit])).map(toOutbox)),

    unpublishedEvents: (limit) =>
      driver.read(async (tx) =>
        (await tx.all(`SELECT * FROM outbox WHERE published_at_ms IS NULL ORDER BY sequence LIMIT ?`, [limit])).map(toOutbox),
      ),

    markPublished: (sequences, atMs) =>
      sequences.length === 0
        ? Promise.resolve()
        : driver.write(async (tx) => {
            await tx.run(`UPDATE outbox SET published_at_ms = ? WHERE sequence IN (${sequences.map(() => '?').join(', ')})`, [atMs, ...sequences]);
          }),

    lastSequence: () => driver.read(async (tx) => Number((await tx.all(`SELECT COALESCE(MAX(sequence), 0) AS last FROM outbox`))[0]!.last)),

    firstSequence: () => driver.read(async (tx) => Number((await tx.all(`SELECT COALESCE(MIN(sequence), 0) AS first FROM outbox`))[0]!.first)),

    pruneOutbox: (throughSequence, publishedBeforeMs) =>
      driver.write((tx) =>
        tx.run(
          `DELETE FROM outbox WHERE sequence <= ? AND published_at_ms IS NOT NULL AND published_at_ms < ?
             AND sequence < (SELECT MAX(sequence) FROM outbox)`,
          [throughSequence, publishedBeforeMs],
        ),
      ),

    snapshot: (model) =>
      driver.read(async (tx) => {
        const lastSequence = Number((await tx.all(`SELECT COALESCE(MAX(sequence), 0) AS last FROM outbox`))[0]!.last);
        const rows = model ? await tx.all(`SELECT * FROM models WHERE name = ?`, [model]) : await tx.all(`SELECT * FROM models ORDER BY name`);
        const models = [];
        for (const m of await loadModels(tx, rows)) {
          const versions = (await tx.all(`SELECT * FROM versions WHERE model = ? ORDER BY version`, [m.name])).map(toVersion);
          const aliases = (await tx.all(`SELECT * FROM aliases WHERE model = ? ORDER BY name`, [m.name])).map(toAlias);
          const references = (
            await tx.all(`SELECT model, version, input, features, sampled_rows, total_rows, updated_at_ms FROM version_references WHERE model = ? ORDER BY version`, [m.name])
          ).map(toReferenceInfo);
          models.push({ model: m, versions, aliases, references });
        }
        return { lastSequence, models };
      }),

    createToken: (token, ctx) =>
      change(async (tx) => {
        const nowMs = clock();
        const record = await insertToken(tx, token, (ctx?.actor ?? DEFAULT_ACTOR).subject);
        await appendAudit(tx, ctx, {
          action: 'token.create',
          model: '',
          details: { tokenId: token.id, subject: token.subject, scopes: token.scopes, models: token.models, expiresAtMs: token.expiresAtMs },
        }, nowMs);
        return record;
      }),

    getToken: (id) => driver.read((tx) => tokenIn(tx, id)),

    listTokens: ({ includeInactive, nowMs }) => driver.read((tx) => listTokens(tx, includeInactive, nowMs)),

    revokeToken: (id, ctx) =>
      change(async (tx) => {
        const token = await tokenIn(tx, id);
        if (!token) throw notFound(`no token has id '${id}'`);
        if (token.revokedAtMs !== undefined) throw failedPrecondition(`token ${id} was already revoked at ${new Date(token.revokedAtMs).toISOString()}`);
        const nowMs = clock();
        await markRevoked(tx, id, nowMs);
        const revokedBy = (ctx?.actor ?? DEFAULT_ACTOR).subject;
        await appendOutbox(tx, ctx, TOKEN_REVOKED_SUBJECT, {
          tokenRevoked: { tokenId: id, subject: token.subject, expiresAtUnixMs: token.expiresAtMs, revokedAtUnixMs: nowMs, revokedBy },
        }, nowMs);
        await appendAudit(tx, ctx, { action: 'token.revoke', model: '', details: { tokenId: id, subject: token.subject } }, nowMs);
        return { ...token, revokedAtMs: nowMs };
      }),

    recordNodeIdentity: (identity, ctx) =>
      change(async (tx) => {
        await appendAudit(tx, ctx, { action: 'node.identity.issue', model: '', details: { nodeId: identity.nodeId, keySha256: identity.keySha256, expiresAtMs: identity.expiresAtMs } }, clock());
      }),

    listAudit: (query) => driver.read((tx) => listAudit(tx, query)),

    verifyAudit: () => driver.read((tx) => verifyAudit(tx)),

    aliasesAt: (model, atMs) => driver.read((tx) => aliasHistory(tx, model, atMs)),

    close: () => driver.close(),
  };
  return store;
}

function modelAuditDetails(model: ModelRecord) {
  return { description: model.description, tags: model.tags, labels: model.labels };
}

function modelEventBody(model: ModelRecord) {
  return { model: model.name, description: model.description, tags: model.tags, labels: model.labels };
}

function toVersion(r: SqlRow): VersionRecord {
  return {
    model: String(r.model),
    version: Number(r.version),
    sha256: String(r.sha256),
    sizeBytes: Number(r.size_bytes),
    description: String(r.description),
    labels: JSON.parse(String(r.labels)) as Record<string, string>,
    lineage: JSON.parse(String(r.lineage)) as Lineage,
    configJson: String(r.config_json),
    signature: JSON.parse(String(r.signature)) as ModelSignature,
    createdAtMs: Number(r.created_at_ms),
  };
}

function toReferenceInfo(r: SqlRow): Omit<ReferenceRecord, 'payload'> {
  return {
    model: String(r.model),
    version: Number(r.version),
    input: String(r.input),
    features: Number(r.features),
    rows: Number(r.sampled_rows),
    totalRows: Number(r.total_rows),
    updatedAtMs: Number(r.updated_at_ms),
  };
}

function toAlias(r: SqlRow): AliasRecord {
  return { model: String(r.model), name: String(r.name), version: Number(r.version), weight: Number(r.weight), updatedAtMs: Number(r.updated_at_ms) };
}

function toOutbox(r: SqlRow): OutboxEvent {
  return {
    sequence: Number(r.sequence),
    subject: String(r.subject),
    payload: r.payload as Uint8Array,
    traceparent: r.traceparent === null || r.traceparent === undefined ? undefined : String(r.traceparent),
    createdAtMs: Number(r.created_at_ms),
    publishedAtMs: r.published_at_ms === null || r.published_at_ms === undefined ? undefined : Number(r.published_at_ms),
  };
}

function encodePageToken(lastName: string): string {
  return Buffer.from(lastName, 'utf8').toString('base64url');
}

function decodePageToken(token: string | undefined): string {
  return token ? Buffer.from(token, 'base64url').toString('utf8') : '';
}
