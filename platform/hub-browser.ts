/**
 * The hub as the web app's hub browser shows it: repositories, their tags
 * and digests, which tags are signed and by which roles, and each
 * repository's trust data.
 *
 * The hub's public interface has no catalog, so repositories and tags are
 * read the way any client reads them: over its registry API, through the
 * catalog (for which the hub wants a signed-in account: the platform keeps
 * one of its own, `trustlab-browser`, with a password that changes at every
 * start) and anonymous pull tokens for the rest. Trust data is read in
 * process and verified with trust-core from nothing, as a fresh docker
 * would: "signed" means that `docker pull` with content trust would take
 * this tag, with the digest the registry holds now.
 *
 * Answers are cached for a few seconds: a page that polls does not turn
 * into a stream of registry requests.
 */
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { Hub } from '../hub/src/index.js';
import { MEDIA_TYPES } from '../hub/src/index.js';
import type { MetadataCache, RemoteStore, TrustedRepository } from '../trust-core/src/index.js';
import { FetchError, isServerValidationError, toHex, TrustError, Updater } from '../trust-core/src/index.js';
import { nodeRsaVerifier } from '../trust-core/src/node/index.js';
import type { HubRepositoryView, HubTagView, HubTrustView } from './api.js';
import type { PlatformLogger } from './logger.js';

export const BROWSER_ACCOUNT = 'trustlab-browser';
const CACHE_MS = 3000;
/** Scopes per token request: keeps the URL short. */
const SCOPES_PER_TOKEN = 40;
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** `namespace/name`, as the registry spells repository names (distribution's reference grammar). */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/;
const ACCEPT_MANIFESTS = Object.values(MEDIA_TYPES).join(', ');

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** docker's GUN for a repository of the hub (`docker.io/<name>`): what `docker push` signs. */
export function gunOf(repository: string): string {
  return `docker.io/${repository}`;
}

const BY_VERSION = /^(\d+)\.(.+)$/;
const BY_CHECKSUM = /^(.+)\.([a-f0-9]{64})$/;

/** The hub's stored trust files as trust-core's RemoteStore. */
class NotaryFiles implements RemoteStore {
  readonly displayName = 'hub';
  constructor(
    private readonly notary: NonNullable<Hub['notary']>,
    private readonly gun: string,
  ) {}

  async getMeta(name: string, maxLength: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      const version = BY_VERSION.exec(name);
      const checksum = BY_CHECKSUM.exec(name);
      if (version) bytes = this.notary.byVersion(this.gun, version[2]!, Number(version[1])).content;
      else if (checksum) bytes = this.notary.byChecksum(this.gun, checksum[1]!, checksum[2]!).content;
      else bytes = (await this.notary.current(this.gun, name)).content;
    } catch (cause) {
      if (isServerValidationError(cause) && cause.code === 'METADATA_NOT_FOUND')
        throw new FetchError('TRUST_DATA_MISSING', `no trust data for ${this.gun}`, { cause });
      throw new FetchError('SERVER_ERROR', `cannot read ${name} of ${this.gun}`, { cause });
    }
    if (bytes.length > maxLength)
      throw new FetchError('TOO_LARGE', `${name} is larger than ${maxLength} bytes`);
    return bytes;
  }
}

class MemoryCache implements MetadataCache {
  private readonly files = new Map<string, Uint8Array>();
  get(role: string) {
    return Promise.resolve(this.files.get(role));
  }
  set(role: string, bytes: Uint8Array) {
    this.files.set(role, bytes);
    return Promise.resolve();
  }
  remove(role: string) {
    this.files.delete(role);
    return Promise.resolve();
  }
}

export class HubBrowser {
  private readonly password = randomBytes(24).toString('base64url');
  private account: Promise<void> | undefined;
  private catalogToken: { token: string; until: number } | undefined;
  private cached: { until: number; value: Promise<HubRepositoryView[]> } | undefined;
  private closed = false;

  constructor(
    private readonly hub: Hub,
    private readonly logger: PlatformLogger,
  ) {}

  repositories(): Promise<HubRepositoryView[]> {
    const now = Date.now();
    if (this.cached === undefined || this.cached.until < now) {
      const value = this.readRepositories();
      this.cached = { until: now + CACHE_MS, value };
      // A failure is not kept: the next call tries again.
      value.catch(() => {
        if (this.cached?.value === value) this.cached = undefined;
      });
    }
    return this.cached.value;
  }

  async trust(repository: string): Promise<HubTrustView | undefined> {
    if (!REPOSITORY.test(repository)) return undefined;
    const trusted = await this.trusted(gunOf(repository));
    if (trusted === undefined) return undefined;
    const root = trusted.root.signed;
    const base = (['root', 'targets', 'snapshot', 'timestamp'] as const).map((role) => {
      const signed =
        role === 'root'
          ? root
          : role === 'targets'
            ? trusted.targets.signed
            : role === 'snapshot'
              ? trusted.snapshot.signed
              : trusted.timestamp.signed;
      return {
        role,
        version: signed.version,
        expires: signed.expires,
        keyIds: Object.values(root.roleKeys(role)).map((key) => key.canonicalId()),
        threshold: root.roles[role]?.threshold ?? 1,
      };
    });
    const delegations = trusted
      .roles()
      .filter((role) => role !== 'targets')
      .flatMap((role) => {
        const parent = trusted.role(role.slice(0, role.lastIndexOf('/')));
        const delegation = parent?.signed.delegations.roles.find((candidate) => candidate.name === role);
        const signed = trusted.role(role)?.signed;
        if (delegation === undefined || signed === undefined) return [];
        return [
          {
            role,
            version: signed.version,
            expires: signed.expires,
            keyIds: [...delegation.keyids],
            threshold: delegation.threshold,
          },
        ];
      });
    return { gun: trusted.gun, roles: [...base, ...delegations] };
  }

  close(): void {
    this.closed = true;
  }

  private async trusted(gun: string): Promise<TrustedRepository | undefined> {
    const notary = this.hub.notary;
    if (notary === undefined) return undefined;
    try {
      return await new Updater({
        gun,
        remote: new NotaryFiles(notary, gun),
        cache: new MemoryCache(),
        rsa: nodeRsaVerifier,
      }).refresh();
    } catch (error) {
      if (error instanceof FetchError && error.code === 'TRUST_DATA_MISSING') return undefined;
      if (error instanceof FetchError) {
        this.logger.warn(`cannot read the trust data of ${gun}: ${error.message}`);
        return undefined;
      }
      if (error instanceof TrustError) {
        this.logger.warn(`trust data of ${gun} does not verify: ${error.message}`);
        return undefined;
      }
      throw error;
    }
  }

  private async readRepositories(): Promise<HubRepositoryView[]> {
    if (this.closed) return [];
    const names = await this.catalog();
    const views: HubRepositoryView[] = [];
    for (let start = 0; start < names.length; start += SCOPES_PER_TOKEN) {
      const batch = names.slice(start, start + SCOPES_PER_TOKEN);
      const token = await this.token(batch.map((name) => `repository:${name}:pull`));
      for (const name of batch) views.push(await this.repository(name, token));
    }
    return views;
  }

  private async repository(name: string, token: string): Promise<HubRepositoryView> {
    const listing = await this.request('GET', `/v2/${name}/tags/list`, { Authorization: `Bearer ${token}` });
    const tags =
      listing.status === 200
        ? ((JSON.parse(listing.body.toString('utf8')) as { tags?: string[] }).tags ?? [])
        : [];
    const trusted = await this.trusted(gunOf(name));
    const views: HubTagView[] = [];
    for (const tag of [...tags].sort()) {
      const head = await this.request('HEAD', `/v2/${name}/manifests/${encodeURIComponent(tag)}`, {
        Authorization: `Bearer ${token}`,
        Accept: ACCEPT_MANIFESTS,
      });
      const digest = head.status === 200 ? String(head.headers['docker-content-digest'] ?? '') : '';
      const signers = trusted ? signersOf(trusted, tag, digest) : [];
      const pulled = trusted?.lookupForPull(tag);
      const pulledDigest = pulled?.meta.sha256 ? `sha256:${toHex(pulled.meta.sha256)}` : undefined;
      views.push({ tag, digest, signed: digest !== '' && pulledDigest === digest, signers });
    }
    return { name, tags: views };
  }

  private async catalog(): Promise<string[]> {
    const token = await this.accountToken();
    const names: string[] = [];
    let path: string | undefined = '/v2/_catalog?n=1000';
    while (path !== undefined) {
      const answer = await this.request('GET', path, { Authorization: `Bearer ${token}` });
      if (answer.status !== 200) throw new Error(`the hub's catalog answered ${answer.status}`);
      names.push(
        ...((JSON.parse(answer.body.toString('utf8')) as { repositories?: string[] }).repositories ?? []),
      );
      const link = String(answer.headers.link ?? '');
      path = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1];
    }
    return names;
  }

  private async accountToken(): Promise<string> {
    if (this.catalogToken && this.catalogToken.until > Date.now()) return this.catalogToken.token;
    this.account ??= (async () => {
      const { accounts } = this.hub;
      if (accounts.exists(BROWSER_ACCOUNT)) await accounts.setPassword(BROWSER_ACCOUNT, this.password);
      else await accounts.createAccount(BROWSER_ACCOUNT, this.password);
    })();
    await this.account;
    const basic = Buffer.from(`${BROWSER_ACCOUNT}:${this.password}`).toString('base64');
    const answer = await this.tokenRequest(['registry:catalog:*'], { Authorization: `Basic ${basic}` });
    this.catalogToken = { token: answer.token, until: Date.now() + (answer.expiresIn - 10) * 1000 };
    return answer.token;
  }

  private async token(scopes: string[]): Promise<string> {
    return (await this.tokenRequest(scopes, {})).token;
  }

  private async tokenRequest(
    scopes: string[],
    headers: Record<string, string>,
  ): Promise<{ token: string; expiresIn: number }> {
    const query = new URLSearchParams({ service: this.hub.service });
    for (const scope of scopes) query.append('scope', scope);
    const answer = await this.request('GET', `/token?${query.toString()}`, headers);
    if (answer.status !== 200) throw new Error(`the hub's token endpoint answered ${answer.status}`);
    const body = JSON.parse(answer.body.toString('utf8')) as { token: string; expires_in?: number };
    return { token: body.token, expiresIn: body.expires_in ?? 60 };
  }

  private request(method: string, path: string, headers: Record<string, string>): Promise<HttpAnswer> {
    const url = new URL(path, this.hub.url);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        { method, headers, ca: this.hub.caCertificate, timeout: 10_000 },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) req.destroy(new Error(`${path}: answer too large`));
            else chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${path}: the hub did not answer in time`)));
      req.on('error', reject);
      req.end();
    });
  }
}

/** Every role whose targets list `tag` with `digest` (the current manifest). */
function signersOf(trusted: TrustedRepository, tag: string, digest: string): string[] {
  const signers: string[] = [];
  for (const role of trusted.roles()) {
    const meta = trusted.role(role)?.signed.targets[tag];
    if (meta?.sha256 && `sha256:${toHex(meta.sha256)}` === digest) signers.push(role);
  }
  return signers;
}
