/**
 * Composes the hub: storage, auth, registry routes, token endpoint and
 * request records behind one HTTP(S) listener.
 */
import { mkdirSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AccessGate } from './auth/access.js';
import { Accounts } from './auth/accounts.js';
import { createTokenEndpoint } from './auth/token-endpoint.js';
import { loadOrCreateSigningKey, TokenService } from './auth/tokens.js';
import type { ResolvedHubConfig } from './config.js';
import { HubError } from './errors.js';
import { createContext, type RequestContext } from './http/context.js';
import { sendError } from './http/respond.js';
import { RequestRecords } from './records/records.js';
import { parseManifest } from './registry/manifest-format.js';
import { assertName, parseReference } from './registry/references.js';
import { createRegistryHandler } from './registry/routes.js';
import { UploadSessions } from './registry/upload-sessions.js';
import { BlobStore, sha256Bytes } from './storage/blob-store.js';
import { openDatabase, type Db } from './storage/database.js';
import { Metadata } from './storage/metadata.js';
import { loadOrCreateKeySecret, ServerKeys } from './notary/keys.js';
import { createNotaryHandler, isNotaryPath } from './notary/routes.js';
import { NotaryService } from './notary/service.js';
import { TrustStore } from './notary/store.js';
import { ensureOfficialImages } from './official/official-images.js';
import { ensureTlsMaterial, type TlsMaterial } from './tls/certificates.js';
import {
  assertSessionId,
  openSessionSocket,
  SessionSocketError,
  type SessionSocket,
  type SessionSocketOwner,
} from './session-sockets.js';

/** Status recorded for a request whose client went away before the response was complete. */
export const CLIENT_CLOSED_STATUS = 499;

export function hubDirectory(dataDir: string): string {
  return path.join(dataDir, 'hub');
}

/**
 * Direct access to repository content for the hub's own use (filling
 * `library/`), bypassing auth but not validation.
 */
export interface ContentApi {
  putBlob(repository: string, bytes: Uint8Array): Promise<string>;
  putManifest(repository: string, reference: string, mediaType: string, bytes: Uint8Array): string;
}

export class HubServer {
  readonly hubDir: string;
  readonly db: Db;
  /** Second connection to `hub.db`, `synchronous=NORMAL`, for request records only (records/records.ts). */
  readonly recordsDb: Db;
  readonly metadata: Metadata;
  readonly blobs: BlobStore;
  readonly uploads: UploadSessions;
  readonly accounts: Accounts;
  readonly records: RequestRecords;
  readonly content: ContentApi;
  readonly trustStore: TrustStore;
  /** The Notary API's state; set once listening (its keys need the sealing secret from disk). */
  notary: NotaryService | undefined;
  tls: TlsMaterial | undefined;
  private server: http.Server | https.Server | undefined;
  /** Builds a server (not listening) that answers like the TCP port; session sockets use it. */
  private createServer: ((session: string | undefined) => http.Server | https.Server) | undefined;
  private readonly sessionSockets = new Set<SessionSocket>();
  private sweeper: NodeJS.Timeout | undefined;
  private baseUrl: string | undefined;

  constructor(readonly config: ResolvedHubConfig) {
    this.hubDir = hubDirectory(config.dataDir);
    mkdirSync(this.hubDir, { recursive: true, mode: 0o700 });
    this.db = openDatabase(path.join(this.hubDir, 'hub.db'));
    this.metadata = new Metadata(this.db);
    this.blobs = new BlobStore(this.hubDir);
    this.uploads = new UploadSessions(this.metadata, this.blobs, config.maxBlobBytes);
    this.accounts = new Accounts(this.db);
    this.recordsDb = openDatabase(path.join(this.hubDir, 'hub.db'), { synchronous: 'NORMAL' });
    this.records = new RequestRecords(this.recordsDb, { onError: (error) => this.logError(error) });
    this.content = this.createContentApi();
    this.trustStore = new TrustStore(this.db);
  }

  get url(): string {
    if (this.baseUrl === undefined) throw new Error('the hub is not listening yet');
    return this.baseUrl;
  }

  async listen(): Promise<string> {
    if (this.server) return this.url;
    await this.blobs.init();
    await this.uploads.recover();
    const signingKey = await loadOrCreateSigningKey(this.hubDir);
    const tokens = new TokenService(signingKey, {
      issuer: this.config.service,
      service: this.config.service,
      ttlSeconds: this.config.tokenTtlSeconds,
    });
    const gate = new AccessGate(tokens, { realm: () => `${this.url}/token`, service: this.config.service });
    const registry = createRegistryHandler({
      metadata: this.metadata,
      blobs: this.blobs,
      uploads: this.uploads,
      gate,
      maxBlobBytes: this.config.maxBlobBytes,
    });
    const notaryService = new NotaryService(
      this.trustStore,
      new ServerKeys(this.db, await loadOrCreateKeySecret(this.hubDir)),
      this.config.clock,
    );
    this.notary = notaryService;
    const notary = createNotaryHandler({ service: notaryService, gate });
    if (this.config.officialImages) await ensureOfficialImages(this.content, notaryService);
    const tokenEndpoint = createTokenEndpoint({
      tokens,
      accounts: this.accounts,
      service: this.config.service,
    });

    const route = async (ctx: RequestContext) => {
      if (ctx.path === '/token') return tokenEndpoint(ctx);
      if (isNotaryPath(ctx.path)) return notary(ctx);
      if (ctx.path === '/v2' || ctx.path.startsWith('/v2/')) return registry(ctx);
      throw new HubError('NAME_UNKNOWN', 'not found', { status: 404, detail: { path: ctx.path } });
    };

    let scheme = 'http';
    if (this.config.tls) {
      this.tls = await ensureTlsMaterial(this.hubDir, this.config.hostnames);
      scheme = 'https';
    }
    const tlsMaterial = this.tls;
    // `session` undefined: the TCP port, where config.sessionResolver decides per request.
    // A session socket passes its own id, which nothing in the request can change.
    const createServer = (session: string | undefined): http.Server | https.Server => {
      const listener = (req: IncomingMessage, res: ServerResponse) => {
        void this.handle(req, res, route, session);
      };
      const server = tlsMaterial
        ? https.createServer({ key: tlsMaterial.serverKeyPem, cert: tlsMaterial.serverCertPem }, listener)
        : http.createServer(listener);
      // Node closes an idle kept-alive connection after 5 s; a client starved of CPU (a hundred
      // attendees' commands on a few cores) can pause longer than that between two requests and
      // then send on a connection being closed. Idle connections stay open 65 s (the clients also
      // retry once on a connection the server closed); the headers timeout must be above it.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      return server;
    };
    this.server = createServer(undefined);
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const host = this.config.host === '0.0.0.0' || this.config.host === '::' ? '127.0.0.1' : this.config.host;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    this.baseUrl = (this.config.publicUrl ?? `${scheme}://${hostPart}:${address.port}`).replace(/\/$/, '');
    this.createServer = createServer;

    const interval = Math.min(Math.max(Math.floor(this.config.uploadTtlMs / 4), 1000), 60_000);
    this.sweeper = setInterval(() => {
      this.uploads.expire(this.config.uploadTtlMs).catch((error: unknown) => this.logError(error));
    }, interval);
    this.sweeper.unref();
    return this.baseUrl;
  }

  /**
   * Serve the hub on a unix socket for one session (see session-sockets.ts):
   * same TLS and handling as the TCP port, every request recorded with
   * `sessionId`. Needs `listen()` first.
   */
  async listenSessionSocket(
    sessionId: string,
    socketPath: string,
    owner?: SessionSocketOwner,
  ): Promise<SessionSocket> {
    assertSessionId(sessionId);
    const createServer = this.createServer;
    if (!createServer) throw new SessionSocketError('the hub is not listening');
    for (const open of this.sessionSockets) {
      if (open.path === socketPath) {
        throw new SessionSocketError(`${socketPath} is already a session socket of this hub`);
      }
    }
    const opened = await openSessionSocket(createServer(sessionId), sessionId, socketPath, owner);
    if (this.createServer !== createServer) {
      // The hub closed while the socket was being set up.
      await opened.close();
      throw new SessionSocketError('the hub is not listening');
    }
    const entry: SessionSocket = {
      sessionId,
      path: socketPath,
      close: async () => {
        this.sessionSockets.delete(entry);
        await opened.close();
      },
    };
    this.sessionSockets.add(entry);
    return entry;
  }

  private logError(error: unknown, req?: IncomingMessage): void {
    if (this.config.logError && req) this.config.logError(error, req);
    else console.error('[hub]', error);
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    route: (ctx: RequestContext) => Promise<void>,
    socketSession: string | undefined,
  ): Promise<void> {
    const ctx = createContext(req, res);
    const session = socketSession ?? this.config.sessionResolver?.(req);
    res.once('close', () => {
      try {
        this.records.add({
          time: Date.now(),
          session,
          account: ctx.record.account,
          method: ctx.method,
          path: ctx.path,
          status: res.writableFinished ? res.statusCode : CLIENT_CLOSED_STATUS,
          repository: ctx.record.repository,
          reference: ctx.record.reference,
          digest: ctx.record.digest,
          gun: ctx.record.gun,
          role: ctx.record.role,
        });
      } catch (error) {
        this.logError(error, req);
      }
    });
    try {
      await route(ctx);
    } catch (error) {
      if (!(error instanceof HubError) && !req.destroyed) this.logError(error, req);
      sendError(res, error);
    }
  }

  private createContentApi(): ContentApi {
    return {
      putBlob: async (repository, bytes) => {
        assertName(repository);
        const committed = await this.blobs.putBytes(bytes);
        this.metadata.linkBlob(repository, committed.digest, committed.size);
        return committed.digest;
      },
      putManifest: (repository, reference, mediaType, bytes) => {
        assertName(repository);
        const ref = parseReference(reference);
        const body = Buffer.from(bytes);
        const digest = sha256Bytes(body);
        if (ref.kind === 'digest' && ref.digest !== digest) {
          throw new HubError('DIGEST_INVALID', 'manifest digest does not match the reference');
        }
        const parsed = parseManifest(body, mediaType);
        const result = this.metadata.putManifest(
          repository,
          { digest, mediaType: parsed.mediaType, content: body },
          parsed.references,
          ref.kind === 'tag' ? ref.tag : undefined,
        );
        const missing = [...result.missingBlobs, ...result.missingManifests, ...result.wrongSize];
        if (missing.length > 0) {
          throw new HubError('MANIFEST_BLOB_UNKNOWN', 'manifest references unknown content', {
            detail: missing,
          });
        }
        return digest;
      },
    };
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.createServer = undefined;
    await Promise.all([...this.sessionSockets].map((socket) => socket.close()));
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      this.server = undefined;
    }
    this.records.flush();
    if (this.recordsDb.open) this.recordsDb.close();
    if (this.db.open) this.db.close();
  }
}
