/**
 * Trust metadata storage in the hub's SQLite database, shaped like
 * notary-server's MetaStore (server/storage/interface.go): every version of
 * every role of every GUN is kept; "current" is the highest version; files
 * are found by version and by sha256 (notary's memory store indexes only
 * sha256, so a sha512 lookup finds nothing, notary-server server/handlers); each new timestamp
 * writes a change-feed record (MemStorage.UpdateCurrent / UpdateMany) and a
 * deletion writes one with category `deletion`.
 *
 * A publish is one SQLite transaction (`applyUpdate`): WAL with
 * synchronous=FULL makes it durable when it returns, and a crash before the
 * commit leaves the previous state entirely (storage/database.ts).
 */
import { createHash } from 'node:crypto';
import { statement, type Db } from '../storage/database.js';

export interface StoredFile {
  content: Buffer;
  version: number;
  /** Milliseconds since the epoch: when the file was stored (notary's Last-Modified). */
  createdAt: number;
}

export interface ChangeRecord {
  id: number;
  createdAt: number;
  gun: string;
  version: number;
  sha256: string;
  category: 'update' | 'deletion';
}

export interface FileToStore {
  role: string;
  version: number;
  content: Uint8Array;
}

interface FileRow {
  content: Buffer;
  version: number;
  created_at: number;
}

interface ChangeRow {
  id: number;
  created_at: number;
  gun: string;
  version: number;
  sha256: string;
  category: string;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function toFile(row: FileRow | undefined): StoredFile | undefined {
  return row ? { content: row.content, version: row.version, createdAt: row.created_at } : undefined;
}

export class TrustStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  current(gun: string, role: string): StoredFile | undefined {
    const row = statement(
      this.db,
      'SELECT content, version, created_at FROM tuf_files WHERE gun = ? AND role = ? ORDER BY version DESC LIMIT 1',
    ).get(gun, role) as FileRow | undefined;
    return toFile(row);
  }

  byVersion(gun: string, role: string, version: number): StoredFile | undefined {
    const row = statement(
      this.db,
      'SELECT content, version, created_at FROM tuf_files WHERE gun = ? AND role = ? AND version = ?',
    ).get(gun, role, version) as FileRow | undefined;
    return toFile(row);
  }

  /** By sha256 (hex, as notary's URLs carry it); other digests are never indexed. */
  byChecksum(gun: string, role: string, sha256: string): StoredFile | undefined {
    const row = statement(
      this.db,
      `SELECT content, version, created_at FROM tuf_files WHERE gun = ? AND role = ? AND sha256 = ?
         ORDER BY version DESC LIMIT 1`,
    ).get(gun, role, sha256) as FileRow | undefined;
    return toFile(row);
  }

  /**
   * What a timestamp GET needs to decide whether the stored timestamp can be
   * served as is, read in one statement (one consistent state): the current
   * timestamp with its content and the sha256 of the current snapshot
   * (a root must exist too). Undefined when any of the three is missing.
   */
  timestampState(
    gun: string,
  ): { timestamp: StoredFile & { sha256: string }; snapshotSha256: string } | undefined {
    const rows = statement(
      this.db,
      `SELECT * FROM (SELECT role, version, sha256, created_at, content FROM tuf_files
                       WHERE gun = ? AND role = 'timestamp' ORDER BY version DESC LIMIT 1)
       UNION ALL
       SELECT * FROM (SELECT role, version, sha256, created_at, NULL FROM tuf_files
                       WHERE gun = ? AND role = 'snapshot' ORDER BY version DESC LIMIT 1)
       UNION ALL
       SELECT * FROM (SELECT role, version, sha256, created_at, NULL FROM tuf_files
                       WHERE gun = ? AND role = 'root' ORDER BY version DESC LIMIT 1)`,
    ).all(gun, gun, gun) as (FileRow & { role: string; sha256: string })[];
    const timestamp = rows.find((row) => row.role === 'timestamp');
    const snapshot = rows.find((row) => row.role === 'snapshot');
    const root = rows.find((row) => row.role === 'root');
    if (!timestamp || !snapshot || !root) return undefined;
    return {
      timestamp: { ...(toFile(timestamp) as StoredFile), sha256: timestamp.sha256 },
      snapshotSha256: snapshot.sha256,
    };
  }

  /** The current file of every role of `gun`. */
  currentFiles(gun: string): Map<string, StoredFile> {
    const rows = statement(
      this.db,
      `SELECT f.role AS role, f.content AS content, f.version AS version, f.created_at AS created_at
         FROM tuf_files f
         JOIN (SELECT role, MAX(version) AS version FROM tuf_files WHERE gun = ? GROUP BY role) m
           ON m.role = f.role AND m.version = f.version
         WHERE f.gun = ?`,
    ).all(gun, gun) as (FileRow & { role: string })[];
    return new Map(rows.map((row) => [row.role, toFile(row) as StoredFile]));
  }

  /** Highest stored version per role (the VERSION check compares against these). */
  storedVersions(gun: string): Record<string, number> {
    const rows = statement(
      this.db,
      'SELECT role, MAX(version) AS version FROM tuf_files WHERE gun = ? GROUP BY role',
    ).all(gun) as { role: string; version: number }[];
    const out: Record<string, number> = {};
    for (const row of rows) out[row.role] = row.version;
    return out;
  }

  exists(gun: string): boolean {
    return statement(this.db, 'SELECT 1 FROM tuf_files WHERE gun = ? LIMIT 1').get(gun) !== undefined;
  }

  /**
   * Stores every file of one update in one transaction, with a change record
   * for the new timestamp. `expectVersions` guards against a concurrent
   * writer (another process on the same database): if the stored versions
   * moved since validation, nothing is written and false is returned.
   */
  applyUpdate(gun: string, files: readonly FileToStore[], expectVersions: Record<string, number>): boolean {
    const insert = statement(
      this.db,
      'INSERT INTO tuf_files (gun, role, version, sha256, content, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const change = statement(
      this.db,
      'INSERT INTO tuf_changes (created_at, gun, version, sha256, category) VALUES (?, ?, ?, ?, ?)',
    );
    const run = this.db.transaction(() => {
      const stored = this.storedVersions(gun);
      const keys = new Set([...Object.keys(stored), ...Object.keys(expectVersions)]);
      for (const role of keys) if (stored[role] !== expectVersions[role]) return false;
      const now = this.now();
      for (const file of files) {
        const digest = sha256Hex(file.content);
        insert.run(gun, file.role, file.version, digest, Buffer.from(file.content), now);
        if (file.role === 'timestamp') change.run(now, gun, file.version, digest, 'update');
      }
      return true;
    });
    return run.immediate();
  }

  /** notary Delete: every version of every role goes; the change feed records a deletion. */
  deleteGun(gun: string): void {
    this.db
      .transaction(() => {
        statement(this.db, 'DELETE FROM tuf_files WHERE gun = ?').run(gun);
        statement(
          this.db,
          'INSERT INTO tuf_changes (created_at, gun, version, sha256, category) VALUES (?, ?, 0, ?, ?)',
        ).run(this.now(), gun, '', 'deletion');
      })
      .immediate();
  }

  /**
   * Change feed page (notary MemStorage.GetChanges): with `records` > 0 the
   * changes after `changeId`, oldest first; with `records` < 0 the last
   * |records| changes before `changeId` (before the end when it is 0).
   */
  changes(changeId: number, records: number, gun?: string): ChangeRecord[] {
    const filter = gun === undefined ? '' : 'AND gun = ?';
    const params: (string | number)[] = [];
    let rows: ChangeRow[];
    if (records >= 0) {
      params.push(changeId);
      if (gun !== undefined) params.push(gun);
      params.push(records);
      rows = statement(
        this.db,
        `SELECT * FROM tuf_changes WHERE id > ? ${filter} ORDER BY id ASC LIMIT ?`,
      ).all(...params) as ChangeRow[];
    } else {
      params.push(changeId <= 0 ? Number.MAX_SAFE_INTEGER : changeId);
      if (gun !== undefined) params.push(gun);
      params.push(-records);
      rows = (
        statement(this.db, `SELECT * FROM tuf_changes WHERE id < ? ${filter} ORDER BY id DESC LIMIT ?`).all(
          ...params,
        ) as ChangeRow[]
      ).reverse();
    }
    return rows.map((row) => ({
      id: row.id,
      createdAt: row.created_at,
      gun: row.gun,
      version: row.version,
      sha256: row.sha256,
      category: row.category === 'deletion' ? 'deletion' : 'update',
    }));
  }
}
