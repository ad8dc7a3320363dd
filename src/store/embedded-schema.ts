// SQLite layout of the embedded store (one file, `<dir>/store.db`).
//
//   state    one row: the global revision counter and the compaction floor
//   kv       current keys with etcd-style create/mod revision and version
//   events   the change log: one row per changed key per revision, with the
//            previous value, so watch(prefix, fromRevision) can replay
//   leases   lease id, TTL and absolute expiry (wall clock ms, so several
//            processes sharing the file agree on it)

import type Database from "better-sqlite3";

export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS state (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  schema_version INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  compact_revision INTEGER NOT NULL
);
INSERT OR IGNORE INTO state (id, schema_version, revision, compact_revision)
  VALUES (0, ${SCHEMA_VERSION}, 0, 0);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  lease TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_lease ON kv (lease) WHERE lease IS NOT NULL;
CREATE TABLE IF NOT EXISTS events (
  rev INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  type INTEGER NOT NULL,          -- 0 put, 1 delete
  key TEXT NOT NULL,
  value TEXT,                     -- put only
  create_rev INTEGER,
  version INTEGER,
  lease TEXT,
  prev_value TEXT,                -- previous kv, when there was one
  prev_create_rev INTEGER,
  prev_mod_rev INTEGER,
  prev_version INTEGER,
  prev_lease TEXT,
  PRIMARY KEY (rev, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ttl INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_expiry ON leases (expires_at);
`;

export interface KvRow {
  key: string;
  value: string;
  create_rev: number;
  mod_rev: number;
  version: number;
  lease: string | null;
}

export interface EventRow {
  rev: number;
  seq: number;
  type: 0 | 1;
  key: string;
  value: string | null;
  create_rev: number | null;
  version: number | null;
  lease: string | null;
  prev_value: string | null;
  prev_create_rev: number | null;
  prev_mod_rev: number | null;
  prev_version: number | null;
  prev_lease: string | null;
}

export interface StateRow {
  schema_version: number;
  revision: number;
  compact_revision: number;
}

/** All prepared statements, compiled once per connection. */
export function prepareStatements(db: Database.Database) {
  return {
    state: db.prepare<[], StateRow>(
      "SELECT schema_version, revision, compact_revision FROM state WHERE id = 0",
    ),
    setRevision: db.prepare<[number]>("UPDATE state SET revision = ? WHERE id = 0"),
    setCompact: db.prepare<[number]>("UPDATE state SET compact_revision = ? WHERE id = 0"),
    getKv: db.prepare<[string], KvRow>("SELECT * FROM kv WHERE key = ?"),
    rangeKv: db.prepare<[string, string], KvRow>(
      "SELECT * FROM kv WHERE key >= ? AND key < ? ORDER BY key",
    ),
    rangeKvOpen: db.prepare<[string], KvRow>("SELECT * FROM kv WHERE key >= ? ORDER BY key"),
    upsertKv: db.prepare<[string, string, number, number, number, string | null]>(
      `INSERT INTO kv (key, value, create_rev, mod_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev,
         version = excluded.version, lease = excluded.lease`,
    ),
    deleteKv: db.prepare<[string]>("DELETE FROM kv WHERE key = ?"),
    keysOfLease: db.prepare<[string], KvRow>("SELECT * FROM kv WHERE lease = ? ORDER BY key"),
    insertEvent: db.prepare<
      [
        number,
        number,
        number,
        string,
        string | null,
        number | null,
        number | null,
        string | null,
        string | null,
        number | null,
        number | null,
        number | null,
        string | null,
      ]
    >(
      `INSERT INTO events (rev, seq, type, key, value, create_rev, version, lease,
         prev_value, prev_create_rev, prev_mod_rev, prev_version, prev_lease)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    eventsFrom: db.prepare<[number, number], EventRow>(
      "SELECT * FROM events WHERE rev >= ? AND rev <= ? ORDER BY rev, seq",
    ),
    compactEvents: db.prepare<[number]>("DELETE FROM events WHERE rev < ?"),
    getLease: db.prepare<[string], { id: number; ttl: number; expires_at: number }>(
      "SELECT id, ttl, expires_at FROM leases WHERE id = ?",
    ),
    insertLease: db.prepare<[number, number]>("INSERT INTO leases (ttl, expires_at) VALUES (?, ?)"),
    renewLease: db.prepare<[number, string, number]>(
      "UPDATE leases SET expires_at = ? WHERE id = ? AND expires_at > ?",
    ),
    deleteLease: db.prepare<[string]>("DELETE FROM leases WHERE id = ?"),
    expiredLeases: db.prepare<[number], { id: number }>(
      "SELECT id FROM leases WHERE expires_at <= ? ORDER BY expires_at LIMIT 100",
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
