/**
 * Registry metadata kept in SQLite: repositories, blob links, manifests,
 * tags and upload sessions. Every method is one transaction, so a crash
 * leaves each of them either applied or not.
 */
import { statement, type Db } from './database.js';

export interface ManifestRow {
  digest: string;
  mediaType: string;
  content: Buffer;
}

export interface UploadRow {
  uuid: string;
  repository: string;
  account: string | null;
  offset: number;
  createdAt: number;
  updatedAt: number;
}

export interface ManifestReferences {
  /** Blobs (config, layers) the manifest needs in its repository. */
  blobs: { digest: string; size: number }[];
  /** Child manifests (for an index / manifest list). */
  manifests: string[];
}

export class Metadata {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  private ensureRepository(name: string): void {
    statement(
      this.db,
      'INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING',
    ).run(name, this.now());
  }

  repositoryExists(name: string): boolean {
    return statement(this.db, 'SELECT 1 FROM repositories WHERE name = ?').get(name) !== undefined;
  }

  /** Repository names in lexical order after `last`, for `/v2/_catalog`. */
  listRepositories(limit: number, last?: string): string[] {
    const rows = statement(this.db, 'SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?').all(
      last ?? '',
      limit,
    ) as { name: string }[];
    return rows.map((row) => row.name);
  }

  // ---- blobs -------------------------------------------------------------

  /** Size of the blob if it is linked into `repository`. */
  linkedBlobSize(repository: string, digest: string): number | undefined {
    const row = statement(
      this.db,
      `SELECT b.size AS size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
         WHERE rb.repository = ? AND rb.digest = ?`,
    ).get(repository, digest) as { size: number } | undefined;
    return row?.size;
  }

  blobSize(digest: string): number | undefined {
    const row = statement(this.db, 'SELECT size FROM blobs WHERE digest = ?').get(digest) as
      { size: number } | undefined;
    return row?.size;
  }

  /** Records a committed blob and links it into the repository; ends the upload session if any. */
  linkBlob(repository: string, digest: string, size: number, finishedUpload?: string): void {
    this.db
      .transaction(() => {
        const now = this.now();
        this.ensureRepository(repository);
        statement(
          this.db,
          'INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        ).run(digest, size, now);
        statement(
          this.db,
          'INSERT INTO repository_blobs (repository, digest, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        ).run(repository, digest, now);
        if (finishedUpload !== undefined) {
          statement(this.db, 'DELETE FROM uploads WHERE uuid = ?').run(finishedUpload);
        }
      })
      .immediate();
  }

  unlinkBlob(repository: string, digest: string): boolean {
    const result = statement(this.db, 'DELETE FROM repository_blobs WHERE repository = ? AND digest = ?').run(
      repository,
      digest,
    );
    return result.changes > 0;
  }

  // ---- manifests and tags -------------------------------------------------

  getManifest(repository: string, digest: string): ManifestRow | undefined {
    const row = statement(
      this.db,
      'SELECT digest, media_type, content FROM manifests WHERE repository = ? AND digest = ?',
    ).get(repository, digest) as { digest: string; media_type: string; content: Buffer } | undefined;
    return row && { digest: row.digest, mediaType: row.media_type, content: row.content };
  }

  resolveTag(repository: string, tag: string): string | undefined {
    const row = statement(this.db, 'SELECT digest FROM tags WHERE repository = ? AND tag = ?').get(
      repository,
      tag,
    ) as { digest: string } | undefined;
    return row?.digest;
  }

  /**
   * Stores a manifest (and optionally points a tag at it) after checking,
   * inside the same transaction, that everything it references is present in
   * the repository. Returns the references that are missing, in which case
   * nothing was written.
   */
  putManifest(
    repository: string,
    manifest: ManifestRow,
    references: ManifestReferences,
    tag?: string,
  ): { missingBlobs: string[]; wrongSize: string[]; missingManifests: string[] } {
    return this.db
      .transaction(() => {
        const missingBlobs: string[] = [];
        const wrongSize: string[] = [];
        for (const blob of references.blobs) {
          const size = this.linkedBlobSize(repository, blob.digest);
          if (size === undefined) missingBlobs.push(blob.digest);
          else if (size !== blob.size) wrongSize.push(blob.digest);
        }
        const missingManifests = references.manifests.filter(
          (digest) => this.getManifest(repository, digest) === undefined,
        );
        if (missingBlobs.length > 0 || wrongSize.length > 0 || missingManifests.length > 0) {
          return { missingBlobs, wrongSize, missingManifests };
        }
        const now = this.now();
        this.ensureRepository(repository);
        statement(
          this.db,
          `INSERT INTO manifests (repository, digest, media_type, content, created_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (repository, digest) DO UPDATE SET media_type = excluded.media_type`,
        ).run(repository, manifest.digest, manifest.mediaType, manifest.content, now);
        if (tag !== undefined) {
          statement(
            this.db,
            `INSERT INTO tags (repository, tag, digest, updated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
          ).run(repository, tag, manifest.digest, now);
        }
        return { missingBlobs, wrongSize, missingManifests };
      })
      .immediate();
  }

  /** Deletes a manifest and, through the foreign key, every tag pointing at it. */
  deleteManifest(repository: string, digest: string): boolean {
    return (
      statement(this.db, 'DELETE FROM manifests WHERE repository = ? AND digest = ?').run(repository, digest)
        .changes > 0
    );
  }

  deleteTag(repository: string, tag: string): boolean {
    return (
      statement(this.db, 'DELETE FROM tags WHERE repository = ? AND tag = ?').run(repository, tag).changes > 0
    );
  }

  /** Tags in lexical order after `last` (OCI spec, "Listing Tags"). */
  listTags(repository: string, limit: number, last?: string): string[] {
    const rows = statement(
      this.db,
      'SELECT tag FROM tags WHERE repository = ? AND tag > ? ORDER BY tag LIMIT ?',
    ).all(repository, last ?? '', limit) as { tag: string }[];
    return rows.map((row) => row.tag);
  }

  // ---- upload sessions -----------------------------------------------------

  createUpload(uuid: string, repository: string, account: string | undefined): UploadRow {
    const now = this.now();
    statement(
      this.db,
      'INSERT INTO uploads (uuid, repository, account, received, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?)',
    ).run(uuid, repository, account ?? null, now, now);
    return { uuid, repository, account: account ?? null, offset: 0, createdAt: now, updatedAt: now };
  }

  getUpload(uuid: string): UploadRow | undefined {
    const row = statement(
      this.db,
      `SELECT uuid, repository, account, received AS "offset", created_at AS createdAt, updated_at AS updatedAt
         FROM uploads WHERE uuid = ?`,
    ).get(uuid) as UploadRow | undefined;
    return row;
  }

  setUploadOffset(uuid: string, offset: number): void {
    statement(this.db, 'UPDATE uploads SET received = ?, updated_at = ? WHERE uuid = ?').run(
      offset,
      this.now(),
      uuid,
    );
  }

  deleteUpload(uuid: string): void {
    statement(this.db, 'DELETE FROM uploads WHERE uuid = ?').run(uuid);
  }

  allUploadIds(): string[] {
    return (statement(this.db, 'SELECT uuid FROM uploads').all() as { uuid: string }[]).map(
      (row) => row.uuid,
    );
  }

  /** Sessions untouched since `before` (ms epoch). */
  staleUploads(before: number): string[] {
    return (
      statement(this.db, 'SELECT uuid FROM uploads WHERE updated_at < ?').all(before) as { uuid: string }[]
    ).map((row) => row.uuid);
  }
}
