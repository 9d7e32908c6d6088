/**
 * TrustLab Hub: the lab's own "Docker Hub" (registry HTTP API v2 with Docker
 * token auth over HTTPS), the Notary server API on the same origin, and
 * the official images `library/busybox` and `library/alpine`, signed.
 *
 *   const hub = createHub({ dataDir });
 *   const url = await hub.listen();
 *   await hub.accounts.createAccount('alice', 'correct horse');
 *   hub.records.on('record', (r) => …);
 *   const socket = await hub.listenSessionSocket('s-1', '/run/…/hub.sock', { uid, gid });
 *   await hub.close();
 */
import { hubConfigSchema, type HubConfig } from './config.js';
import type { Accounts } from './auth/accounts.js';
import type { RequestRecords } from './records/records.js';
import type { NotaryService } from './notary/service.js';
import { HubServer, type ContentApi } from './server.js';
import type { SessionSocketOwner } from './session-sockets.js';

export type { HubConfig } from './config.js';
export { HubError, type RegistryErrorCode } from './errors.js';
export type { RecordQuery, RequestRecord, SessionResolver } from './records/records.js';
export { trustedHeaderSessionResolver, SESSION_HEADER } from './records/records.js';
export { MEDIA_TYPES } from './registry/manifest-format.js';
export type { NotaryService } from './notary/service.js';
export { OFFICIAL_IMAGES } from './official/official-images.js';
export {
  SESSION_ID_PATTERN,
  SessionSocketError,
  type SessionSocket,
  type SessionSocketOwner,
} from './session-sockets.js';

export interface Hub {
  /** Starts serving (first start also creates keys and certificates); resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops serving: the TCP port and every session socket. */
  close(): Promise<void>;
  /**
   * Also serve on the unix socket `socketPath` for one lab session (after
   * `listen()`): same TLS certificate and handling as the TCP port, and every
   * request through it is recorded with `sessionId`, whatever it claims.
   * The file is 0600, owned by `owner` when given; a stale socket there is
   * replaced. `close()` stops it and removes the file.
   */
  listenSessionSocket(
    sessionId: string,
    socketPath: string,
    owner?: SessionSocketOwner,
  ): Promise<{ close(): Promise<void> }>;
  /** Base URL (`https://127.0.0.1:<port>` unless `publicUrl` was set); throws before `listen()`. */
  readonly url: string;
  /** `https://…/token`, the realm docker is sent to. */
  readonly tokenRealm: string;
  /** The `service` value docker must present. */
  readonly service: string;
  readonly accounts: Pick<Accounts, 'createAccount' | 'verifyPassword' | 'setPassword' | 'exists' | 'list'>;
  /** Request records: `query(…)` and the live `record` event. */
  readonly records: Pick<RequestRecords, 'query' | 'on' | 'off' | 'once'>;
  /** Repository content written by the hub itself (e.g. filling `library/`), bypassing auth. */
  readonly content: ContentApi;
  /** PEM of the lab CA, once listening with TLS. */
  readonly caCertificate: string | undefined;
  /** File of the lab CA, once listening with TLS. */
  readonly caCertificatePath: string | undefined;
  /** The Notary API's trust data, keys and change feed (undefined before `listen()`). */
  readonly notary: NotaryService | undefined;
  /** Directory holding all the hub's state (`<dataDir>/hub`). */
  readonly directory: string;
}

export function createHub(config: HubConfig): Hub {
  const server = new HubServer(hubConfigSchema.parse(config));
  return {
    listen: () => server.listen(),
    close: () => server.close(),
    listenSessionSocket: (sessionId, socketPath, owner) =>
      server.listenSessionSocket(sessionId, socketPath, owner),
    get url() {
      return server.url;
    },
    get tokenRealm() {
      return `${server.url}/token`;
    },
    service: server.config.service,
    accounts: server.accounts,
    records: server.records,
    content: server.content,
    get caCertificate() {
      return server.tls?.caCertPem;
    },
    get caCertificatePath() {
      return server.tls?.caCertPath;
    },
    get notary() {
      return server.notary;
    },
    directory: server.hubDir,
  };
}

/**
 * The hub as the terminal server asks for session sockets (its
 * HubSocketProvider, matched by shape so the hub does not depend on it).
 */
export function hubSocketProvider(hub: Pick<Hub, 'listenSessionSocket'>): {
  open(
    sessionId: string,
    socketPath: string,
    owner: SessionSocketOwner | undefined,
  ): Promise<{ close(): Promise<void> }>;
} {
  return {
    open: (sessionId, socketPath, owner) => hub.listenSessionSocket(sessionId, socketPath, owner),
  };
}
