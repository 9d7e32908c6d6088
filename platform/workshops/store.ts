/**
 * Workshops, their attendees and broadcasts, and the instructor's password
 * hash and sessions, in the progress store's SQLite file (one connection:
 * attendees reference learners, and one close ends both).
 *
 * Invariants:
 * - a learner is an attendee of a workshop at most once (joining again
 *   updates their display name, see workshops.ts);
 * - a workshop never has more attendees than its capacity: the count and
 *   the insert run in one transaction;
 * - join codes are unique, for ever (a closed workshop keeps its code, so
 *   an old link never leads into a new workshop);
 * - the instructor's password is kept as a scrypt hash with its salt and
 *   parameters, and sessions as SHA-256 digests of their tokens: a copy of
 *   the file lets nobody sign in;
 * - the schema is created idempotently and versioned in `schema_parts`
 *   (the progress store keeps SQLite's user_version for its own tables).
 */
import type Database from 'better-sqlite3';
import { PlatformError } from '../errors.js';
import type { ProgressStore } from '../progress-store.js';

const PART = 'workshops';
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS schema_parts (
  part TEXT PRIMARY KEY,
  version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS workshops (
  id TEXT PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,
  lab_id TEXT NOT NULL,
  title TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  closed_at INTEGER
);
CREATE TABLE IF NOT EXISTS workshop_attendees (
  workshop_id TEXT NOT NULL REFERENCES workshops(id),
  learner_id TEXT NOT NULL REFERENCES learners(id),
  display_name TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (workshop_id, learner_id)
);
CREATE INDEX IF NOT EXISTS workshop_attendees_by_learner ON workshop_attendees (learner_id, joined_at);
CREATE TABLE IF NOT EXISTS workshop_broadcasts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workshop_id TEXT NOT NULL REFERENCES workshops(id),
  message TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS workshop_broadcasts_by_workshop ON workshop_broadcasts (workshop_id, id);
CREATE TABLE IF NOT EXISTS instructor_password (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  algorithm TEXT NOT NULL,
  params TEXT NOT NULL,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  from_env INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS instructor_sessions (
  token_digest TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

/** Broadcasts kept per workshop: the page shows the latest, the dashboard a few. */
export const KEPT_BROADCASTS = 5;

export interface WorkshopRow {
  readonly id: string;
  readonly code: string;
  readonly labId: string;
  readonly title: string;
  readonly capacity: number;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdAt: number;
  readonly closedAt: number | undefined;
}

export interface AttendeeRow {
  readonly workshopId: string;
  readonly learnerId: string;
  readonly displayName: string;
  readonly joinedAt: number;
  /** Their hub username (from the learners table). */
  readonly username: string;
}

export interface BroadcastRow {
  readonly message: string;
  readonly at: number;
}

export interface PasswordHashRow {
  readonly algorithm: string;
  /** JSON of the algorithm's parameters. */
  readonly params: string;
  readonly salt: string;
  readonly hash: string;
  /** Set from TRUSTLAB_INSTRUCTOR_PASSWORD rather than generated. */
  readonly fromEnv: boolean;
  readonly createdAt: number;
}

interface WorkshopRecord {
  id: string;
  code: string;
  lab_id: string;
  title: string;
  capacity: number;
  starts_at: number;
  ends_at: number;
  created_at: number;
  closed_at: number | null;
}

interface AttendeeRecord {
  workshop_id: string;
  learner_id: string;
  display_name: string;
  joined_at: number;
  username: string;
}

function toWorkshop(row: WorkshopRecord): WorkshopRow {
  return {
    id: row.id,
    code: row.code,
    labId: row.lab_id,
    title: row.title,
    capacity: row.capacity,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    createdAt: row.created_at,
    closedAt: row.closed_at ?? undefined,
  };
}

function toAttendee(row: AttendeeRecord): AttendeeRow {
  return {
    workshopId: row.workshop_id,
    learnerId: row.learner_id,
    displayName: row.display_name,
    joinedAt: row.joined_at,
    username: row.username,
  };
}

const WORKSHOP_COLUMNS = 'id, code, lab_id, title, capacity, starts_at, ends_at, created_at, closed_at';
const ATTENDEE_COLUMNS =
  'a.workshop_id, a.learner_id, a.display_name, a.joined_at, l.username FROM workshop_attendees a JOIN learners l ON l.id = a.learner_id';

export type JoinOutcome =
  { readonly kind: 'joined' | 'rejoined'; readonly attendee: AttendeeRow } | { readonly kind: 'full' };

export class WorkshopStore {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(progress: ProgressStore) {
    this.db = progress.database;
    try {
      this.db.exec(SCHEMA);
      const row = this.db.prepare('SELECT version FROM schema_parts WHERE part = ?').get(PART) as
        { version: number } | undefined;
      if (row !== undefined && row.version > SCHEMA_VERSION) {
        throw new Error(
          `the workshop tables have schema version ${row.version}; this TrustLab knows up to ${SCHEMA_VERSION}`,
        );
      }
      this.db
        .prepare(
          `INSERT INTO schema_parts (part, version) VALUES (?, ?)
           ON CONFLICT (part) DO UPDATE SET version = excluded.version`,
        )
        .run(PART, SCHEMA_VERSION);
    } catch (cause) {
      throw new PlatformError('STORE_FAILED', `cannot open the workshop tables in ${progress.file}`, {
        cause,
        suggestion: 'Check that the data directory is writable and not used by a newer TrustLab.',
      });
    }
  }

  addWorkshop(workshop: Omit<WorkshopRow, 'closedAt'>): void {
    this.sql(
      `INSERT INTO workshops (id, code, lab_id, title, capacity, starts_at, ends_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      workshop.id,
      workshop.code,
      workshop.labId,
      workshop.title,
      workshop.capacity,
      workshop.startsAt,
      workshop.endsAt,
      workshop.createdAt,
    );
  }

  codeTaken(code: string): boolean {
    return this.sql('SELECT 1 FROM workshops WHERE code = ?').get(code) !== undefined;
  }

  workshop(id: string): WorkshopRow | undefined {
    const row = this.sql(`SELECT ${WORKSHOP_COLUMNS} FROM workshops WHERE id = ?`).get(id) as
      WorkshopRecord | undefined;
    return row && toWorkshop(row);
  }

  workshopByCode(code: string): WorkshopRow | undefined {
    const row = this.sql(`SELECT ${WORKSHOP_COLUMNS} FROM workshops WHERE code = ?`).get(code) as
      WorkshopRecord | undefined;
    return row && toWorkshop(row);
  }

  /** Newest first. */
  workshops(): WorkshopRow[] {
    return (
      this.sql(
        `SELECT ${WORKSHOP_COLUMNS} FROM workshops ORDER BY created_at DESC, id`,
      ).all() as WorkshopRecord[]
    ).map(toWorkshop);
  }

  close(id: string, at: number): void {
    this.sql('UPDATE workshops SET closed_at = ? WHERE id = ? AND closed_at IS NULL').run(at, id);
  }

  attendeeCount(workshopId: string): number {
    return (
      this.sql('SELECT count(*) AS n FROM workshop_attendees WHERE workshop_id = ?').get(workshopId) as {
        n: number;
      }
    ).n;
  }

  /** In the order they joined. */
  attendees(workshopId: string): AttendeeRow[] {
    return (
      this.sql(`SELECT ${ATTENDEE_COLUMNS} WHERE a.workshop_id = ? ORDER BY a.joined_at, a.learner_id`).all(
        workshopId,
      ) as AttendeeRecord[]
    ).map(toAttendee);
  }

  attendee(workshopId: string, learnerId: string): AttendeeRow | undefined {
    const row = this.sql(`SELECT ${ATTENDEE_COLUMNS} WHERE a.workshop_id = ? AND a.learner_id = ?`).get(
      workshopId,
      learnerId,
    ) as AttendeeRecord | undefined;
    return row && toAttendee(row);
  }

  /** The workshop the learner joined last, with their attendance, or undefined. */
  currentAttendance(learnerId: string): AttendeeRow | undefined {
    const row = this.sql(
      `SELECT ${ATTENDEE_COLUMNS} WHERE a.learner_id = ? ORDER BY a.joined_at DESC, a.workshop_id LIMIT 1`,
    ).get(learnerId) as AttendeeRecord | undefined;
    return row && toAttendee(row);
  }

  /** The attendees of the workshop for whom it is the one they joined last (those a broadcast reaches). */
  currentAttendees(workshopId: string): string[] {
    return (
      this.sql(
        `SELECT a.learner_id FROM workshop_attendees a
         WHERE a.workshop_id = ? AND NOT EXISTS (
           SELECT 1 FROM workshop_attendees later
           WHERE later.learner_id = a.learner_id AND later.workshop_id <> a.workshop_id
             AND (later.joined_at > a.joined_at
                  OR (later.joined_at = a.joined_at AND later.workshop_id < a.workshop_id)))`,
      ).all(workshopId) as Array<{ learner_id: string }>
    ).map((row) => row.learner_id);
  }

  /**
   * The learner joins: a new attendee if there is room, or the same one
   * under the new name when they had joined already (room or not).
   */
  join(
    workshopId: string,
    learnerId: string,
    displayName: string,
    capacity: number,
    at: number,
  ): JoinOutcome {
    return this.db.transaction((): JoinOutcome => {
      const existing = this.attendee(workshopId, learnerId);
      if (existing !== undefined) {
        this.sql(
          'UPDATE workshop_attendees SET display_name = ? WHERE workshop_id = ? AND learner_id = ?',
        ).run(displayName, workshopId, learnerId);
        return { kind: 'rejoined', attendee: { ...existing, displayName } };
      }
      if (this.attendeeCount(workshopId) >= capacity) return { kind: 'full' };
      this.sql(
        'INSERT INTO workshop_attendees (workshop_id, learner_id, display_name, joined_at) VALUES (?, ?, ?, ?)',
      ).run(workshopId, learnerId, displayName, at);
      return { kind: 'joined', attendee: this.attendee(workshopId, learnerId)! };
    })();
  }

  /** Keeps the broadcast and drops the workshop's older ones beyond KEPT_BROADCASTS. */
  addBroadcast(workshopId: string, message: string, at: number): void {
    const insert = this.sql('INSERT INTO workshop_broadcasts (workshop_id, message, at) VALUES (?, ?, ?)');
    const prune = this.sql(
      `DELETE FROM workshop_broadcasts WHERE workshop_id = ? AND id <= (
         SELECT id FROM workshop_broadcasts WHERE workshop_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    );
    this.db.transaction(() => {
      insert.run(workshopId, message, at);
      prune.run(workshopId, workshopId, KEPT_BROADCASTS);
    })();
  }

  /** Newest first. */
  broadcasts(workshopId: string, limit = KEPT_BROADCASTS): BroadcastRow[] {
    return this.sql(
      'SELECT message, at FROM workshop_broadcasts WHERE workshop_id = ? ORDER BY id DESC LIMIT ?',
    ).all(workshopId, limit) as BroadcastRow[];
  }

  passwordHash(): PasswordHashRow | undefined {
    const row = this.sql(
      'SELECT algorithm, params, salt, hash, from_env, created_at FROM instructor_password WHERE id = 1',
    ).get() as
      | {
          algorithm: string;
          params: string;
          salt: string;
          hash: string;
          from_env: number;
          created_at: number;
        }
      | undefined;
    return (
      row && {
        algorithm: row.algorithm,
        params: row.params,
        salt: row.salt,
        hash: row.hash,
        fromEnv: row.from_env === 1,
        createdAt: row.created_at,
      }
    );
  }

  /** Replaces the password hash; every instructor session ends with the old password. */
  setPasswordHash(row: PasswordHashRow): void {
    this.db.transaction(() => {
      this.sql(
        `INSERT INTO instructor_password (id, algorithm, params, salt, hash, from_env, created_at)
         VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET algorithm = excluded.algorithm, params = excluded.params,
           salt = excluded.salt, hash = excluded.hash, from_env = excluded.from_env,
           created_at = excluded.created_at`,
      ).run(row.algorithm, row.params, row.salt, row.hash, row.fromEnv ? 1 : 0, row.createdAt);
      this.sql('DELETE FROM instructor_sessions').run();
    })();
  }

  addInstructorSession(tokenDigest: string, createdAt: number, expiresAt: number): void {
    this.db.transaction(() => {
      this.sql('DELETE FROM instructor_sessions WHERE expires_at <= ?').run(createdAt);
      this.sql('INSERT INTO instructor_sessions (token_digest, created_at, expires_at) VALUES (?, ?, ?)').run(
        tokenDigest,
        createdAt,
        expiresAt,
      );
    })();
  }

  /** The session's expiry (ms) if it exists and has not expired at `now`. */
  instructorSession(tokenDigest: string, now: number): number | undefined {
    const row = this.sql('SELECT expires_at FROM instructor_sessions WHERE token_digest = ?').get(
      tokenDigest,
    ) as { expires_at: number } | undefined;
    return row !== undefined && row.expires_at > now ? row.expires_at : undefined;
  }

  removeInstructorSession(tokenDigest: string): void {
    this.sql('DELETE FROM instructor_sessions WHERE token_digest = ?').run(tokenDigest);
  }

  /** Statements are compiled once and kept, as in the progress store. */
  private sql(source: string): Database.Statement {
    let statement = this.statements.get(source);
    if (statement === undefined) {
      statement = this.db.prepare(source);
      this.statements.set(source, statement);
    }
    return statement;
  }
}
