/**
 * The progress store: learners, the terminal sessions each one has had, the
 * tasks they passed and the client events their commands sent, in SQLite
 * (`<data>/app/progress.db`, WAL).
 *
 * Invariants:
 * - a passed task is only ever inserted, never overwritten: a task that
 *   passed stays passed, across restarts. The one removal is an
 *   instructor's reset of an attendee (`clearProgress`), which also sets a
 *   boundary (`progress_resets`) before which the learner's sessions and
 *   events no longer count for that lab: without it the engine would find
 *   the old pushes again and tick the same tasks at once;
 * - a terminal session id belongs to one learner for ever; the hub's request
 *   records carry the session id, and this table is what turns them into a
 *   learner's history after a restart;
 * - the learner's cookie is kept only as its SHA-256 digest: a copy of the
 *   database does not let anyone act as a learner in the browser. Their hub
 *   password is kept in clear, because the page shows it to them; the file
 *   is 0600 in a 0700 directory.
 * - writes are `synchronous=FULL`: they are few (a learner, a session, an
 *   event per command) and each one is progress a learner would miss.
 */
import { closeSync, mkdirSync, openSync, chmodSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PlatformError } from './errors.js';

export interface LearnerRow {
  /** Public id: the terminal's attendee and home key. Not a credential. */
  readonly id: string;
  readonly username: string;
  readonly password: string;
  readonly createdAt: number;
  /** Host path of the home as the last sandbox had it (persistent drivers only). */
  readonly homeDir: string | undefined;
}

export interface StoredEvent {
  readonly sessionId: string;
  readonly receivedAt: number;
  readonly fields: unknown;
}

/** Events kept per learner; the lab engine's event log keeps as many. */
export const MAX_EVENTS_PER_LEARNER = 2000;

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS learners (
  id TEXT PRIMARY KEY,
  token_digest TEXT NOT NULL UNIQUE,
  username TEXT NOT NULL UNIQUE,
  password TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  home_dir TEXT
);
CREATE TABLE IF NOT EXISTS terminal_sessions (
  session_id TEXT PRIMARY KEY,
  learner_id TEXT NOT NULL REFERENCES learners(id),
  started_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS terminal_sessions_by_learner ON terminal_sessions (learner_id);
CREATE TABLE IF NOT EXISTS passed_tasks (
  learner_id TEXT NOT NULL REFERENCES learners(id),
  lab_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  passed_at INTEGER NOT NULL,
  PRIMARY KEY (learner_id, lab_id, task_id)
);
CREATE TABLE IF NOT EXISTS opened_labs (
  learner_id TEXT NOT NULL REFERENCES learners(id),
  lab_id TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  PRIMARY KEY (learner_id, lab_id)
);
CREATE TABLE IF NOT EXISTS client_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  learner_id TEXT NOT NULL REFERENCES learners(id),
  session_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS client_events_by_learner ON client_events (learner_id, id);
CREATE TABLE IF NOT EXISTS progress_resets (
  learner_id TEXT NOT NULL REFERENCES learners(id),
  lab_id TEXT NOT NULL,
  reset_at INTEGER NOT NULL,
  PRIMARY KEY (learner_id, lab_id)
);
`;

interface LearnerRecord {
  id: string;
  username: string;
  password: string;
  created_at: number;
  home_dir: string | null;
}

function toLearner(row: LearnerRecord): LearnerRow {
  return {
    id: row.id,
    username: row.username,
    password: row.password,
    createdAt: row.created_at,
    homeDir: row.home_dir ?? undefined,
  };
}

export interface SessionStart {
  readonly sessionId: string;
  readonly startedAt: number;
}

export interface PassedTask {
  readonly taskId: string;
  readonly passedAt: number;
}

export class ProgressStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(dataDir: string) {
    const dir = path.join(dataDir, 'app');
    this.file = path.join(dir, 'progress.db');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      // Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
      closeSync(openSync(this.file, 'a', 0o600));
      chmodSync(this.file, 0o600);
      this.db = new Database(this.file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new Error(
          `progress.db has schema version ${version}; this TrustLab knows up to ${SCHEMA_VERSION}`,
        );
      }
      this.db.exec(SCHEMA);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (cause) {
      throw new PlatformError('STORE_FAILED', `cannot open the progress store ${this.file}`, {
        cause,
        suggestion: 'Check that the data directory is writable and not used by a newer TrustLab.',
      });
    }
  }

  addLearner(learner: Omit<LearnerRow, 'homeDir'> & { tokenDigest: string }): void {
    this.sql(
      'INSERT INTO learners (id, token_digest, username, password, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(learner.id, learner.tokenDigest, learner.username, learner.password, learner.createdAt);
  }

  removeLearner(id: string): void {
    this.sql('DELETE FROM learners WHERE id = ?').run(id);
  }

  learnerByToken(tokenDigest: string): LearnerRow | undefined {
    const row = this.sql(
      'SELECT id, username, password, created_at, home_dir FROM learners WHERE token_digest = ?',
    ).get(tokenDigest) as LearnerRecord | undefined;
    return row && toLearner(row);
  }

  learner(id: string): LearnerRow | undefined {
    const row = this.sql(
      'SELECT id, username, password, created_at, home_dir FROM learners WHERE id = ?',
    ).get(id) as LearnerRecord | undefined;
    return row && toLearner(row);
  }

  usernameTaken(username: string): boolean {
    return this.sql('SELECT 1 FROM learners WHERE username = ?').get(username) !== undefined;
  }

  setHomeDir(learnerId: string, homeDir: string | undefined): void {
    this.sql('UPDATE learners SET home_dir = ? WHERE id = ?').run(homeDir ?? null, learnerId);
  }

  addSession(sessionId: string, learnerId: string, startedAt: number): void {
    this.sql(
      'INSERT OR IGNORE INTO terminal_sessions (session_id, learner_id, started_at) VALUES (?, ?, ?)',
    ).run(sessionId, learnerId, startedAt);
  }

  /** Every terminal session of the learner, oldest first. */
  sessionsOf(learnerId: string): string[] {
    return (
      this.sql(
        'SELECT session_id FROM terminal_sessions WHERE learner_id = ? ORDER BY started_at, session_id',
      ).all(learnerId) as Array<{ session_id: string }>
    ).map((row) => row.session_id);
  }

  /** Every terminal session of the learner with its start, oldest first. */
  sessionStarts(learnerId: string): SessionStart[] {
    return (
      this.sql(
        'SELECT session_id, started_at FROM terminal_sessions WHERE learner_id = ? ORDER BY started_at, session_id',
      ).all(learnerId) as Array<{ session_id: string; started_at: number }>
    ).map((row) => ({ sessionId: row.session_id, startedAt: row.started_at }));
  }

  learnerOfSession(sessionId: string): string | undefined {
    const row = this.sql('SELECT learner_id FROM terminal_sessions WHERE session_id = ?').get(sessionId) as
      { learner_id: string } | undefined;
    return row?.learner_id;
  }

  addPassed(learnerId: string, labId: string, taskId: string, passedAt: number): void {
    this.sql(
      'INSERT OR IGNORE INTO passed_tasks (learner_id, lab_id, task_id, passed_at) VALUES (?, ?, ?, ?)',
    ).run(learnerId, labId, taskId, passedAt);
  }

  passed(learnerId: string, labId: string): string[] {
    return (
      this.sql('SELECT task_id FROM passed_tasks WHERE learner_id = ? AND lab_id = ? ORDER BY passed_at').all(
        learnerId,
        labId,
      ) as Array<{ task_id: string }>
    ).map((row) => row.task_id);
  }

  /** The learner's passed tasks of the lab with when each passed, in that order. */
  passedTimes(learnerId: string, labId: string): PassedTask[] {
    return (
      this.sql(
        'SELECT task_id, passed_at FROM passed_tasks WHERE learner_id = ? AND lab_id = ? ORDER BY passed_at',
      ).all(learnerId, labId) as Array<{ task_id: string; passed_at: number }>
    ).map((row) => ({ taskId: row.task_id, passedAt: row.passed_at }));
  }

  /**
   * An instructor's reset: the learner's passed tasks of the lab are gone,
   * and only sessions started and events received from `at` on count for
   * it from now on.
   */
  clearProgress(learnerId: string, labId: string, at: number): void {
    const clear = this.sql('DELETE FROM passed_tasks WHERE learner_id = ? AND lab_id = ?');
    const mark = this.sql(
      `INSERT INTO progress_resets (learner_id, lab_id, reset_at) VALUES (?, ?, ?)
       ON CONFLICT (learner_id, lab_id) DO UPDATE SET reset_at = excluded.reset_at`,
    );
    this.db.transaction(() => {
      clear.run(learnerId, labId);
      mark.run(learnerId, labId, at);
    })();
  }

  /** When the learner's progress in the lab was last reset (ms), or undefined. */
  progressResetAt(learnerId: string, labId: string): number | undefined {
    const row = this.sql('SELECT reset_at FROM progress_resets WHERE learner_id = ? AND lab_id = ?').get(
      learnerId,
      labId,
    ) as { reset_at: number } | undefined;
    return row?.reset_at;
  }

  markOpened(learnerId: string, labId: string, at: number): void {
    this.sql('INSERT OR IGNORE INTO opened_labs (learner_id, lab_id, opened_at) VALUES (?, ?, ?)').run(
      learnerId,
      labId,
      at,
    );
  }

  openedLabs(learnerId: string): string[] {
    return (
      this.sql('SELECT lab_id FROM opened_labs WHERE learner_id = ? ORDER BY opened_at').all(
        learnerId,
      ) as Array<{ lab_id: string }>
    ).map((row) => row.lab_id);
  }

  /** Keeps the event and drops the learner's oldest beyond MAX_EVENTS_PER_LEARNER. */
  addEvent(learnerId: string, event: StoredEvent): void {
    const insert = this.sql(
      'INSERT INTO client_events (learner_id, session_id, received_at, fields) VALUES (?, ?, ?, ?)',
    );
    const prune = this.sql(
      `DELETE FROM client_events WHERE learner_id = ? AND id <= (
         SELECT id FROM client_events WHERE learner_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    );
    this.db.transaction(() => {
      insert.run(learnerId, event.sessionId, event.receivedAt, JSON.stringify(event.fields));
      prune.run(learnerId, learnerId, MAX_EVENTS_PER_LEARNER);
    })();
  }

  /** The learner's events in arrival order. */
  eventsOf(learnerId: string): StoredEvent[] {
    const rows = this.sql(
      'SELECT session_id, received_at, fields FROM client_events WHERE learner_id = ? ORDER BY id',
    ).all(learnerId) as Array<{ session_id: string; received_at: number; fields: string }>;
    return rows.map((row) => ({
      sessionId: row.session_id,
      receivedAt: row.received_at,
      fields: JSON.parse(row.fields) as unknown,
    }));
  }

  /** The learner's newest `limit` events received at or after `since`, newest first. */
  recentEvents(learnerId: string, limit: number, since = 0): StoredEvent[] {
    const rows = this.sql(
      `SELECT session_id, received_at, fields FROM client_events
       WHERE learner_id = ? AND received_at >= ? ORDER BY id DESC LIMIT ?`,
    ).all(learnerId, since, limit) as Array<{ session_id: string; received_at: number; fields: string }>;
    return rows.map((row) => ({
      sessionId: row.session_id,
      receivedAt: row.received_at,
      fields: JSON.parse(row.fields) as unknown,
    }));
  }

  /**
   * The database itself, for stores whose tables live in the same file
   * (platform/workshops/): one connection, one WAL, one close.
   */
  get database(): Database.Database {
    return this.db;
  }

  /** Statements are compiled once and kept: most of these run on every command a learner types. */
  private sql(source: string): Database.Statement {
    let statement = this.statements.get(source);
    if (statement === undefined) {
      statement = this.db.prepare(source);
      this.statements.set(source, statement);
    }
    return statement;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
