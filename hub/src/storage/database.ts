/**
 * The hub's SQLite metadata database.
 *
 * Content connection (`openDatabase`): WAL with `synchronous=FULL`. Every
 * committed transaction is fsync'd to the WAL before the statement returns,
 * so whatever the hub acknowledged to a client (a blob link, a tag, a
 * manifest, trust metadata, an upload offset, an account) survives a crash
 * or power cut. SQLite's own journaling makes each transaction atomic.
 *
 * Records connection (`openDatabase(file, { synchronous: 'NORMAL' })`): a
 * second connection to the same file used only for request records
 * (records/records.ts). `synchronous` is a per-connection setting; with WAL
 * and NORMAL a commit is appended to the WAL without an fsync. That is still
 * atomic and survives the process being killed (the bytes are in the page
 * cache, and the WAL is replayed on open); only an OS crash or power cut can
 * lose the last such commits, never corrupt the database. The next FULL
 * commit of the content connection (or a checkpoint) makes them durable too,
 * since the WAL is written in order.
 *
 * Statements are prepared once per connection and reused (`statement`):
 * compiling SQL costs more than running most of the hub's queries.
 */
import Database from 'better-sqlite3';

export type Db = Database.Database;

export interface OpenOptions {
  /** `FULL` (default) for content; `NORMAL` only for data that may lose its last commits on power loss. */
  synchronous?: 'FULL' | 'NORMAL';
}

const statementCaches = new WeakMap<Db, Map<string, Database.Statement>>();

/** The prepared statement for `sql` on `db`, compiled on first use and cached with the connection. */
export function statement(db: Db, sql: string): Database.Statement {
  let cache = statementCaches.get(db);
  if (cache === undefined) {
    cache = new Map();
    statementCaches.set(db, cache);
  }
  let prepared = cache.get(sql);
  if (prepared === undefined) {
    prepared = db.prepare(sql);
    cache.set(sql, prepared);
  }
  return prepared;
}

/** Ordered migrations; `user_version` records how many have been applied. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE repositories (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE blobs (
    digest TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  -- A blob is visible in a repository only through a link, like docker's
  -- registry: pulling a layer from a repository one cannot read is not
  -- possible by guessing its digest.
  CREATE TABLE repository_blobs (
    repository TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    digest TEXT NOT NULL REFERENCES blobs(digest),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repository, digest)
  );
  CREATE TABLE manifests (
    repository TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repository, digest)
  );
  CREATE TABLE tags (
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (repository, tag),
    FOREIGN KEY (repository, digest) REFERENCES manifests(repository, digest) ON DELETE CASCADE
  );
  CREATE TABLE uploads (
    uuid TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    account TEXT,
    -- bytes acknowledged to the client; the temp file may hold more after a crash
    received INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE accounts (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    session TEXT,
    account TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    repository TEXT,
    reference TEXT,
    digest TEXT
  );
  CREATE INDEX requests_session ON requests(session, id);
  CREATE INDEX requests_account ON requests(account, id);
  CREATE INDEX requests_repository ON requests(repository, id);
  CREATE INDEX requests_time ON requests(time);
  `,
  // Notary server API (notary/): trust metadata, its change feed and the
  // server-held keys. Every version of every role is kept, as notary-server's
  // stores do (GET by version and by checksum serve old files).
  `
  ALTER TABLE requests ADD COLUMN gun TEXT;
  ALTER TABLE requests ADD COLUMN role TEXT;
  CREATE TABLE tuf_files (
    gun TEXT NOT NULL,
    role TEXT NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (gun, role, version)
  );
  CREATE INDEX tuf_files_checksum ON tuf_files(gun, role, sha256);
  CREATE TABLE tuf_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    gun TEXT NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    category TEXT NOT NULL
  );
  CREATE INDEX tuf_changes_gun ON tuf_changes(gun, id);
  -- Private keys are sealed (AES-256-GCM) with trust-keys.secret, never stored in clear.
  CREATE TABLE tuf_keys (
    gun TEXT NOT NULL,
    role TEXT NOT NULL,
    key_id TEXT NOT NULL,
    keytype TEXT NOT NULL,
    public BLOB NOT NULL,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (gun, role, key_id)
  );
  `,
];

export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
  // Another process (the `user add` CLI) may write while the hub runs.
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let index = version; index < MIGRATIONS.length; index++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[index] as string);
      db.pragma(`user_version = ${index + 1}`);
    }).immediate();
  }
}
