import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openRegistryStore } from './open-store.js';
import type { RegistryStore } from './types.js';

/** The PostgreSQL server the tests use (CI sets the variable; a local default otherwise). */
export const POSTGRES_URL = process.env.INFERMESH_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** Opens a store on a fresh database; `reopen` opens a second store on the same database. */
export interface Backend {
  name: string;
  setup(): Promise<{ open(): Promise<RegistryStore>; cleanup(): Promise<void>; exec(sql: string): Promise<void> }>;
}

export const backends: Backend[] = [
  {
    name: 'sqlite',
    async setup() {
      const dir = mkdtempSync(join(tmpdir(), 'infermesh-store-'));
      return {
        open: () => openRegistryStore({ dataDir: dir }),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
        async exec(sql) {
          const db = new Database(join(dir, 'registry.db'));
          db.exec(sql);
          db.close();
        },
      };
    },
  },
  {
    name: 'postgres',
    async setup() {
      // Each run gets its own schema, dropped afterwards.
      const schema = `registry_test_${process.pid}_${Date.now().toString(36)}`;
      return {
        open: () => openRegistryStore({ dataDir: '', database: POSTGRES_URL, postgresSchema: schema }),
        async exec(sql) {
          const client = new pg.Client({ connectionString: POSTGRES_URL });
          await client.connect();
          await client.query(`SET search_path TO ${schema}`);
          await client.query(sql);
          await client.end();
        },
        async cleanup() {
          const client = new pg.Client({ connectionString: POSTGRES_URL });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await client.end();
        },
      };
    },
  },
];

/** A version signature for tests, and a fake sha256 per number. */
export const signature = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 4] }], outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1, 4] }], opset: 17, producer: 'test' };
export const sha = (n: number) => n.toString(16).padStart(64, '0');
