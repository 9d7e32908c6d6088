/**
 * Per-request state shared by the routes and the request recorder.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RecordFields {
  account?: string;
  repository?: string;
  reference?: string;
  digest?: string;
  /** Notary API: the GUN and the TUF role (or `timestamp.key`, …) the request addressed. */
  gun?: string;
  role?: string;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** The raw path, not normalised: `..` must reach the name check, not be resolved away. */
  path: string;
  query: URLSearchParams;
  /** What the request touched, filled in by the handlers for the request record. */
  record: RecordFields;
}

export function createContext(req: IncomingMessage, res: ServerResponse): RequestContext {
  const raw = req.url ?? '/';
  const queryAt = raw.indexOf('?');
  const path = queryAt === -1 ? raw : raw.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : raw.slice(queryAt + 1));
  return { req, res, method: (req.method ?? 'GET').toUpperCase(), path, query, record: {} };
}
