/**
 * Request records: one row per HTTP request the hub answered, so the lab
 * engine can show a learner what their docker client actually did (and
 * check it), live through the `record` event or afterwards through `query`.
 * Rows are written in batches on a connection without fsync (see
 * `RequestRecords` for what that means for durability).
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { statement, type Db } from '../storage/database.js';

export interface RequestRecord {
  id: number;
  /** Milliseconds since the epoch, when the response finished. */
  time: number;
  session: string | undefined;
  account: string | undefined;
  method: string;
  path: string;
  status: number;
  repository: string | undefined;
  reference: string | undefined;
  digest: string | undefined;
  /** Notary API requests: the GUN and role addressed. */
  gun: string | undefined;
  role: string | undefined;
}

export type NewRecord = Omit<RequestRecord, 'id' | 'gun' | 'role'> & {
  gun?: string | undefined;
  role?: string | undefined;
};

export interface RecordQuery {
  session?: string;
  account?: string;
  repository?: string;
  gun?: string;
  /** Only records at or after this time (Date or ms epoch). */
  since?: Date | number;
  /** Newest first, at most this many (default 100, max 10 000). */
  limit?: number;
}

/**
 * Tells which lab session a request belongs to. The hub never trusts a
 * client-supplied header on its own: the embedding server decides (e.g. it
 * reads `X-TrustLab-Session` only for requests that came through a local
 * channel it controls). See `trustedHeaderSessionResolver`.
 */
export type SessionResolver = (req: IncomingMessage) => string | undefined;

export const SESSION_HEADER = 'x-trustlab-session';

/**
 * A resolver reading `X-TrustLab-Session` only when `isTrusted(req)` says the
 * request came through a channel clients cannot forge (for instance a Unix
 * socket, or a proxy the lab engine runs that strips the header from
 * outside traffic).
 */
export function trustedHeaderSessionResolver(isTrusted: (req: IncomingMessage) => boolean): SessionResolver {
  return (req) => {
    if (!isTrusted(req)) return undefined;
    const value = req.headers[SESSION_HEADER];
    return typeof value === 'string' && /^[\w.:-]{1,128}$/.test(value) ? value : undefined;
  };
}

interface Row {
  id: number;
  time: number;
  session: string | null;
  account: string | null;
  method: string;
  path: string;
  status: number;
  repository: string | null;
  reference: string | null;
  digest: string | null;
  gun: string | null;
  role: string | null;
}

function fromRow(row: Row): RequestRecord {
  return {
    id: row.id,
    time: row.time,
    session: row.session ?? undefined,
    account: row.account ?? undefined,
    method: row.method,
    path: row.path,
    status: row.status,
    repository: row.repository ?? undefined,
    reference: row.reference ?? undefined,
    digest: row.digest ?? undefined,
    gun: row.gun ?? undefined,
    role: row.role ?? undefined,
  };
}

export interface RecordsEvents {
  record: [RequestRecord];
}

/** Most records written in one transaction; a full batch is written at once. */
const MAX_BATCH = 500;

export interface RecordsOptions {
  /** How long a record may wait in memory before its batch is written (ms). */
  flushDelayMs?: number;
  /** Where a failed batch write is reported (the records of that batch are dropped). */
  onError?: (error: unknown) => void;
}

/**
 * Durability of request records (a deliberate trade-off, see hub/README.md):
 * records are facts for the lab engine, not repository content, and every
 * one is also emitted live as a `record` event when the response finishes.
 * So they are not written one fsync'd transaction per request (that fsync was
 * most of the hub's CPU time on a manifest or metadata GET). Instead:
 *
 * - `add` assigns the id, emits the event and queues the row; rows are
 *   written in batches, one transaction per `flushDelayMs` (10 ms) or per
 *   `MAX_BATCH` rows, and before every `query` (so queries always see every
 *   record added before them) and on `flush()` at shutdown.
 * - The connection given here is meant to be the records connection
 *   (`synchronous=NORMAL`, storage/database.ts): a batch commit is atomic and
 *   survives the process being killed once written, without an fsync.
 *
 * What can be lost: on SIGKILL, the records of the last few milliseconds not
 * yet written; on an OS crash or power cut, also the last unsynced batches.
 * Never blobs, manifests, tags, trust metadata or accounts, which are written
 * through the content connection with `synchronous=FULL`.
 */
export class RequestRecords extends EventEmitter<RecordsEvents> {
  private pending: RequestRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private nextId: number;
  private readonly flushDelayMs: number;
  private readonly onError: (error: unknown) => void;

  constructor(
    private readonly db: Db,
    options: RecordsOptions = {},
  ) {
    super();
    this.flushDelayMs = options.flushDelayMs ?? 10;
    this.onError = options.onError ?? ((error) => console.error('[hub] request records:', error));
    // Ids are assigned here, in order, so `add` can return and emit a record before its row is written.
    const max = statement(
      db,
      `SELECT MAX(COALESCE((SELECT MAX(id) FROM requests), 0),
                  COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'requests'), 0)) AS id`,
    ).get() as { id: number };
    this.nextId = max.id + 1;
  }

  add(record: NewRecord): RequestRecord {
    const stored: RequestRecord = {
      ...record,
      gun: record.gun,
      role: record.role,
      id: this.nextId++,
    };
    this.pending.push(stored);
    if (this.pending.length >= MAX_BATCH) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.flushDelayMs);
      this.timer.unref();
    }
    this.emit('record', stored);
    return stored;
  }

  /** Writes every queued record now (one transaction). */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    // After close() the hub's connections are gone; late records (connections torn down at
    // shutdown) are only emitted, as before.
    if (!this.db.open) return;
    try {
      const insert = statement(
        this.db,
        `INSERT INTO requests (id, time, session, account, method, path, status, repository, reference, digest, gun, role)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      this.db
        .transaction(() => {
          for (const record of batch) {
            insert.run(
              record.id,
              record.time,
              record.session ?? null,
              record.account ?? null,
              record.method,
              record.path.slice(0, 2048),
              record.status,
              record.repository ?? null,
              record.reference ?? null,
              record.digest ?? null,
              record.gun ?? null,
              record.role ?? null,
            );
          }
        })
        .immediate();
    } catch (error) {
      this.onError(error);
    }
  }

  query(filter: RecordQuery = {}): RequestRecord[] {
    this.flush();
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    if (filter.session !== undefined) {
      clauses.push('session = ?');
      params.push(filter.session);
    }
    if (filter.account !== undefined) {
      clauses.push('account = ?');
      params.push(filter.account);
    }
    if (filter.repository !== undefined) {
      clauses.push('repository = ?');
      params.push(filter.repository);
    }
    if (filter.gun !== undefined) {
      clauses.push('gun = ?');
      params.push(filter.gun);
    }
    if (filter.since !== undefined) {
      clauses.push('time >= ?');
      params.push(filter.since instanceof Date ? filter.since.getTime() : filter.since);
    }
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 100), 1), 10_000);
    const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
    const rows = statement(this.db, `SELECT * FROM requests ${where} ORDER BY id DESC LIMIT ?`).all(
      ...params,
      limit,
    ) as Row[];
    return rows.map(fromRow);
  }
}
