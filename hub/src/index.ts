/**
 * TrustLab Hub: the lab's own "Docker Hub" (registry HTTP API v2 with Docker
 * token auth over HTTPS), the Notary server API on the same origin, and
 * the official images `library/busybox` and `library/alpine`, signed.
 *
 *   const hub = createHub({ dataDir });
 *   const url = await hub.listen();
 *   await hub.accounts.createAccount('alice', 'correct horse');
 *   hub.records.on('record', (r) => …);
 *   await hub.close();
 */
import { hubConfigSchema, type HubConfig } from './config.js';
import type { Accounts } from './auth/accounts.js';
import type { RequestRecords } from './records/records.js';
import type { NotaryService } from './notary/service.js';
import { HubServer, type ContentApi } from './server.js';

export type { HubConfig } from './config.js';
export { HubError, type RegistryErrorCode } from './errors.js';
export type { RecordQuery, RequestRecord, SessionResolver } from './records/records.js';
export { trustedHeaderSessionResolver, SESSION_HEADER } from './records/records.js';
export { MEDIA_TYPES } from './registry/manifest-format.js';
export type { NotaryService } from './notary/service.js';
export { OFFICIAL_IMAGES } from './official/official-images.js';

export interface Hub {
  /** Starts serving (first start also creates keys and certificates); resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
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
