/**
 * Request records: one row per HTTP request the hub answered, so the lab
 * engine can show a learner what their docker client actually did (and
 * check it), live through the `record` event or afterwards through `query`.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Db } from '../storage/database.js';

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

export class RequestRecords extends EventEmitter<RecordsEvents> {
  constructor(private readonly db: Db) {
    super();
  }

  add(record: NewRecord): RequestRecord {
    const result = this.db
      .prepare(
        `INSERT INTO requests (time, session, account, method, path, status, repository, reference, digest, gun, role)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
    const stored: RequestRecord = {
      ...record,
      gun: record.gun,
      role: record.role,
      id: Number(result.lastInsertRowid),
    };
    this.emit('record', stored);
    return stored;
  }

  query(filter: RecordQuery = {}): RequestRecord[] {
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
    const rows = this.db
      .prepare(`SELECT * FROM requests ${where} ORDER BY id DESC LIMIT ?`)
      .all(...params, limit) as Row[];
    return rows.map(fromRow);
  }
}
