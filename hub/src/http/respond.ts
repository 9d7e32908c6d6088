/**
 * Response helpers: the one place where errors become the spec's JSON body.
 */
import type { ServerResponse } from 'node:http';
import { HubError } from '../errors.js';

/** Sent on every registry response (Docker Registry HTTP API v2, "API Version Check"). */
export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' } as const;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  head = false,
): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    ...API_VERSION_HEADER,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(payload.length),
    ...headers,
  });
  res.end(head ? undefined : payload);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...API_VERSION_HEADER, 'Content-Length': '0', ...headers });
  res.end();
}

/**
 * Writes an error response. Anything that is not a HubError is a bug or an
 * I/O failure: it is logged by the caller and answered as a bare 500 so no
 * internal detail leaks to the client.
 */
export function sendError(res: ServerResponse, error: unknown, head = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const hubError = error instanceof HubError ? error : new HubError('UNKNOWN', 'unknown error');
  const headers: Record<string, string> = { ...hubError.headers };
  sendJson(res, hubError.status, hubError.toBody(), headers, head);
}
