/**
 * The Notary server HTTP API on the hub's origin (notary server/server.go
 * route table, notary-server server/handlers):
 *
 *   GET    /v2/<gun>/_trust/tuf/<role>.json               current file
 *   GET    /v2/<gun>/_trust/tuf/<role>.<checksum>.json    by sha256 (hex)
 *   GET    /v2/<gun>/_trust/tuf/<N>.<role>.json           by version
 *   GET    /v2/<gun>/_trust/tuf/{timestamp,snapshot}.key  server key (created if needed)
 *   POST   /v2/<gun>/_trust/tuf/{timestamp,snapshot}.key  new pending key (rotation)
 *   POST   /v2/<gun>/_trust/tuf/                          publish (multipart)
 *   DELETE /v2/<gun>/_trust/tuf/                          delete all trust data of the GUN
 *   GET    /v2/<gun>/_trust/changefeed, /v2/_trust/changefeed
 *
 * role = root | targets(/x)* | snapshot | timestamp. Anything else under
 * `_trust` is notary's NotFoundHandler: 404 METADATA_NOT_FOUND without
 * detail (also for a known path with another method, e.g. PUT).
 *
 * Responses copy notary-server's: metadata bodies are the stored bytes with
 * `Content-Type: text/plain; charset=utf-8` (Go's sniffing of JSON),
 * `Last-Modified` in RFC1123 with "UTC", and the cache headers of notary's
 * cache handlers (5 minutes for current files, 30 days for consistent ones);
 * errors are notary's bodies (trust-core `ServerValidationError`), ending in
 * a newline like Go's json.Encoder.
 *
 * Access, as notary-server configures its token auth (server.go
 * PermissionsRequired): reading metadata and the change feeds needs `pull`,
 * which everyone has (a request without any token is served too: all trust
 * data on the hub is public, like Docker Hub's); GET …/*.key and publishing
 * need `push,pull`; rotating a key and deleting need `*`. Policy per GUN is
 * auth/policy.ts through notary/gun.ts. Refusals are the registry's 401
 * Bearer challenge / 403 DENIED.
 */
import busboy from 'busboy';
import {
  ServerValidationError,
  isServerValidationError,
  type UploadedPart,
} from '../../../trust-core/src/index.js';
import type { AccessGate } from '../auth/access.js';
import type { VerifiedToken } from '../auth/tokens.js';
import { HubError } from '../errors.js';
import type { RequestContext } from '../http/context.js';
import { parseGun } from './gun.js';
import { metadataNotFound, type NotaryService } from './service.js';
import type { ChangeRecord, StoredFile } from './store.js';

export interface NotaryRouteOptions {
  service: NotaryService;
  gate: AccessGate;
  /** Largest accepted part of a publish (one metadata file). */
  maxPartBytes?: number;
  /** Most parts in one publish. */
  maxParts?: number;
}

const ROLE = 'root|targets(?:/[^/\\s]+)*|snapshot|timestamp';
const BY_CHECKSUM = new RegExp(`^(${ROLE})\\.([a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})\\.json$`);
const BY_VERSION = new RegExp(`^([1-9]*[0-9]+)\\.(${ROLE})\\.json$`);
const CURRENT = new RegExp(`^(${ROLE})\\.json$`);
const KEY = /^(snapshot|timestamp)\.key$/;

/** notary utils/http.go cache configs. */
const CACHE_CURRENT = 'public, max-age=300, s-maxage=300, must-revalidate';
const CACHE_CONSISTENT = 'public, max-age=2592000, s-maxage=2592000';

const TEXT = 'text/plain; charset=utf-8';

/** True for paths the Notary API answers (`/v2/<gun>/_trust/…`, `/v2/_trust/…`). */
export function isNotaryPath(path: string): boolean {
  return path.startsWith('/v2/_trust/') || (path.startsWith('/v2/') && path.includes('/_trust/'));
}

/** `Thu, 26 Nov 2026 12:40:25 UTC`: Go's time.RFC1123 of a UTC time, as notary's SetLastModifiedHeader writes it. */
export function lastModified(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString().replace(/GMT$/, 'UTC');
}

/** RFC3339Nano as Go formats it: fraction without trailing zeros, none when zero. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

function send(
  ctx: RequestContext,
  status: number,
  body: Uint8Array | string,
  headers: Record<string, string>,
) {
  const bytes =
    typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.length);
  ctx.res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length) });
  ctx.res.end(bytes);
}

function sendNotaryError(ctx: RequestContext, error: ServerValidationError): void {
  send(ctx, error.httpStatus, error.toResponseBody(), { 'Content-Type': ServerValidationError.contentType });
}

function sendFile(ctx: RequestContext, file: StoredFile, cache: string): void {
  send(ctx, 200, file.content, {
    'Cache-Control': cache,
    'Last-Modified': lastModified(file.createdAt),
    'Content-Type': TEXT,
  });
}

function changefeedBody(records: ChangeRecord[]): string {
  // Go struct field order of notary's storage.Change, IDs as strings.
  const entries = records.map((r) =>
    JSON.stringify({
      ID: String(r.id),
      CreatedAt: rfc3339Nano(r.createdAt),
      GUN: r.gun,
      Version: r.version,
      SHA256: r.sha256,
      Category: r.category,
    }),
  );
  return `{"count":${records.length},"records":[${entries.join(',')}]}`;
}

function publishLimitError(detail: string): ServerValidationError {
  return new ServerValidationError('MALFORMED_UPLOAD', detail);
}

/** Reads the multipart body into parts in upload order; a part without a filename gets name ''. */
function readParts(ctx: RequestContext, maxPartBytes: number, maxParts: number): Promise<UploadedPart[]> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: ctx.req.headers,
        preservePath: true, // `targets/releases` must keep its slash
        limits: { fileSize: maxPartBytes, fieldSize: maxPartBytes, parts: maxParts, files: maxParts },
      });
    } catch {
      // notary: r.MultipartReader() failed → MALFORMED_UPLOAD.
      reject(new ServerValidationError('MALFORMED_UPLOAD'));
      return;
    }
    const parts: { name: string; chunks: Buffer[]; done: Promise<void> }[] = [];
    let failure: ServerValidationError | undefined;
    const fail = (error: ServerValidationError) => {
      failure ??= error;
    };
    parser.on('file', (_field, stream, info) => {
      const part = { name: info.filename ?? '', chunks: [] as Buffer[], done: Promise.resolve() };
      part.done = new Promise((done) => {
        stream.on('data', (chunk: Buffer) => part.chunks.push(chunk));
        stream.on('limit', () => fail(publishLimitError(`a part is larger than ${maxPartBytes} bytes`)));
        stream.on('close', done);
        stream.on('end', done);
        stream.on('error', done);
      });
      parts.push(part);
    });
    parser.on('field', (_name, value, info) => {
      if (info.valueTruncated) fail(publishLimitError(`a part is larger than ${maxPartBytes} bytes`));
      parts.push({ name: '', chunks: [Buffer.from(value, 'latin1')], done: Promise.resolve() });
    });
    parser.on('partsLimit', () => fail(publishLimitError(`more than ${maxParts} parts`)));
    parser.on('filesLimit', () => fail(publishLimitError(`more than ${maxParts} parts`)));
    parser.on('error', () => {
      fail(new ServerValidationError('MALFORMED_UPLOAD'));
      ctx.req.unpipe(parser);
      ctx.req.resume();
      reject(failure as ServerValidationError);
    });
    parser.on('close', () => {
      void Promise.all(parts.map((p) => p.done)).then(() => {
        if (failure) reject(failure);
        else resolve(parts.map((p) => ({ name: p.name, data: Buffer.concat(p.chunks) })));
      });
    });
    ctx.req.pipe(parser);
  });
}

function decodePathGun(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function createNotaryHandler(options: NotaryRouteOptions): (ctx: RequestContext) => Promise<void> {
  const { service, gate } = options;
  const maxPartBytes = options.maxPartBytes ?? 16 * 1024 * 1024;
  const maxParts = options.maxParts ?? 256;

  async function access(
    ctx: RequestContext,
    gun: string,
    actions: string[],
    anonymousOk: boolean,
  ): Promise<VerifiedToken | undefined> {
    const entry = { type: 'repository', name: gun, actions };
    const identity = await gate.authenticate(ctx.req, entry);
    ctx.record.account = identity?.account;
    if (anonymousOk && identity === undefined) return undefined;
    // A sent token must cover the request; with anonymousOk, pull is always attainable.
    if (anonymousOk) {
      gate.require(identity, entry);
      return identity;
    }
    try {
      gate.require(identity, entry);
    } catch (error) {
      // notary-server's token auth cannot tell "never" from "not with this token": it always
      // answers 401 insufficient_scope, which notary prints as "you are not authorized to perform
      // this operation" (a 403 would read "unable to reach trust server at this time: 403.").
      if (error instanceof HubError && error.code === 'DENIED') {
        throw gate.unauthorized(
          'authentication required: requested access to the resource is denied',
          entry,
          {
            error: 'insufficient_scope',
            description: 'the account may not do this on this repository',
          },
        );
      }
      throw error;
    }
    return identity;
  }

  async function changefeed(ctx: RequestContext, gun: string | undefined): Promise<void> {
    if (gun !== undefined) await access(ctx, gun, ['pull'], true);
    else ctx.record.account = (await gate.authenticate(ctx.req))?.account;
    const changeId = ctx.query.get('change_id') ?? '0';
    const records = ctx.query.get('records') ?? '100';
    if (!/^-?\d{1,9}$/.test(changeId) || !/^-?\d{1,9}$/.test(records)) {
      // notary: ErrInvalidParams; not one of the codes trust-core models, so answered like notary's 400 body.
      send(
        ctx,
        400,
        `{"errors":[{"code":"INVALID_PARAMETERS","message":"The parameters provided are not valid.","detail":"invalid records parameter"}]}\n`,
        { 'Content-Type': ServerValidationError.contentType },
      );
      return;
    }
    const page = Number(records) === 0 ? 100 : Number(records);
    send(ctx, 200, changefeedBody(service.store.changes(Number(changeId), page, gun)), {
      'Content-Type': TEXT,
    });
  }

  async function tufRoute(ctx: RequestContext, gun: string, rest: string): Promise<void> {
    const method = ctx.method;
    if (rest === '') {
      if (method === 'POST') {
        await access(ctx, gun, ['push', 'pull'], false);
        const parts = await readParts(ctx, maxPartBytes, maxParts);
        ctx.record.role = parts.map((p) => p.name.replace(/\.json$/, '')).join(',');
        await service.publish(gun, parts);
        send(ctx, 200, '', {});
        return;
      }
      if (method === 'DELETE') {
        await access(ctx, gun, ['*'], false);
        await service.delete(gun);
        send(ctx, 200, '', {});
        return;
      }
      throw new ServerValidationError('METADATA_NOT_FOUND');
    }

    const key = KEY.exec(rest);
    if (key && (method === 'GET' || method === 'POST')) {
      const role = key[1] as 'snapshot' | 'timestamp';
      ctx.record.role = `${role}.key`;
      await access(ctx, gun, method === 'GET' ? ['push', 'pull'] : ['*'], false);
      const publicKey =
        method === 'GET' ? await service.getKey(gun, role) : await service.rotateKey(gun, role);
      // Go json.Marshal of notary's data.PublicKey: keytype, then keyval {public, private:null}.
      const body = `{"keytype":${JSON.stringify(publicKey.keytype)},"keyval":{"public":${JSON.stringify(
        Buffer.from(publicKey.publicBytes).toString('base64'),
      )},"private":null}}`;
      send(ctx, 200, body, { 'Content-Type': TEXT });
      return;
    }

    if (method !== 'GET') throw new ServerValidationError('METADATA_NOT_FOUND');
    const byChecksum = BY_CHECKSUM.exec(rest);
    if (byChecksum) {
      const [, role, checksum] = byChecksum as unknown as [string, string, string];
      ctx.record.role = role;
      ctx.record.digest = checksum.length === 64 ? `sha256:${checksum.toLowerCase()}` : undefined;
      await access(ctx, gun, ['pull'], true);
      sendFile(ctx, service.byChecksum(gun, role, checksum), CACHE_CONSISTENT);
      return;
    }
    const byVersion = BY_VERSION.exec(rest);
    if (byVersion) {
      const [, version, role] = byVersion as unknown as [string, string, string];
      ctx.record.role = role;
      ctx.record.reference = version;
      await access(ctx, gun, ['pull'], true);
      const number = Number(version);
      if (!Number.isSafeInteger(number)) throw metadataNotFound();
      sendFile(ctx, service.byVersion(gun, role, number), CACHE_CONSISTENT);
      return;
    }
    const current = CURRENT.exec(rest);
    if (current) {
      const role = current[1] as string;
      ctx.record.role = role;
      await access(ctx, gun, ['pull'], true);
      sendFile(ctx, await service.current(gun, role), CACHE_CURRENT);
      return;
    }
    throw new ServerValidationError('METADATA_NOT_FOUND');
  }

  return async (ctx) => {
    try {
      if (ctx.path === '/v2/_trust/changefeed') {
        if (ctx.method !== 'GET') throw new ServerValidationError('METADATA_NOT_FOUND');
        await changefeed(ctx, undefined);
        return;
      }
      const feed = /^\/v2\/(.+)\/_trust\/changefeed$/.exec(ctx.path);
      if (feed) {
        const gun = decodePathGun(feed[1] as string);
        ctx.record.gun = gun;
        ctx.record.repository = parseGun(gun)?.repository;
        if (ctx.method !== 'GET') throw new ServerValidationError('METADATA_NOT_FOUND');
        await changefeed(ctx, gun);
        return;
      }
      const tuf = /^\/v2\/(.+?)\/_trust\/tuf\/(.*)$/.exec(ctx.path);
      if (!tuf) throw new ServerValidationError('METADATA_NOT_FOUND');
      const gun = decodePathGun(tuf[1] as string);
      ctx.record.gun = gun;
      ctx.record.repository = parseGun(gun)?.repository;
      await tufRoute(ctx, gun, decodePathGun(tuf[2] as string));
    } catch (error) {
      if (isServerValidationError(error)) {
        // Drain what is left of an upload so the connection can answer.
        if (!ctx.req.complete) ctx.req.resume();
        sendNotaryError(ctx, error);
        return;
      }
      throw error;
    }
  };
}
