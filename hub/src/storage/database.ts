/**
 * The hub's SQLite metadata database.
 *
 * WAL with `synchronous=FULL`: every committed transaction is fsync'd to the
 * WAL before the statement returns, so whatever the hub acknowledged to a
 * client (a tag, a manifest, an upload offset, an account) survives a crash
 * or power cut. SQLite's own journaling makes each transaction atomic.
 */
import Database from 'better-sqlite3';

export type Db = Database.Database;

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

export function openDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
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
