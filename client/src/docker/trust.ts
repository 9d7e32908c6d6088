/**
 * Docker Content Trust as the docker CLI does it (docker/cli cli/trust, cli/command/image/trust.go;
 * docker/cli cli/trust/trust.go, cli/command/image/trust.go, trust_push.go),
 * on trust-core's NotaryRepository:
 *
 * - trust server: DOCKER_CONTENT_TRUST_SERVER (https only), else the
 *   registry's own origin; for docker.io names that is the lab hub (where
 *   real docker would use notary.docker.io);
 * - GUN: the full name (`docker.io/alice/dctrust`); trust dir
 *   `$DOCKER_CONFIG/trust`;
 * - auth: ping `/v2/` on the trust server, then a token for
 *   `repository:<gun>:pull` (`push,pull` to sign) with the registry's saved
 *   credentials; a failed ping is ignored (docker's "offline mode"), so
 *   the metadata request reports the network error as notary does;
 * - errors: docker's NotaryError wording, one line each.
 */
import { PromptAborted } from '../cli/terminal.js';
import { DOCKER_FLAVOUR, promptingRetriever } from '../trust/passphrase.js';
import {
  FetchError,
  FileMeta,
  RepositoryEditor,
  TrustError,
  fromHex,
  toHex,
} from '../../../trust-core/src/index.js';
import type { TargetWithRole, TrustedRepository } from '../../../trust-core/src/index.js';
import { NotaryRepository } from '../../../trust-core/src/node/index.js';
import { Authorizer, RegistryError } from '../registry/index.js';
import { TokenKeyStore, TokenRequestError } from '../token/index.js';
import type { DockerContext } from './context.js';
import { DockerError } from './errors.js';
import type { ImageReference } from './reference.js';
import { DEFAULT_DOMAIN, fullName } from './reference.js';

/** cli/trust.Server: the trust server URL for a registry domain. */
export function trustServerUrl(ctx: DockerContext, domain: string): string {
  const configured = ctx.env.trustServer;
  if (configured) {
    let ok: boolean;
    try {
      ok = new URL(configured).protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new DockerError(
        'TRUST_SERVER_URL',
        `error establishing connection to trust repository: valid https URL required for trust server, got ${configured}`,
        { suggestion: 'Set DOCKER_CONTENT_TRUST_SERVER to an https:// URL, or unset it to use the hub.' },
      );
    }
    return configured;
  }
  return domain === DEFAULT_DOMAIN ? ctx.env.hub.origin : `https://${domain}`;
}

export interface OpenedRepository {
  repo: NotaryRepository;
  gun: string;
  close(): void;
}

/** A NotaryRepository for the image's GUN, authorised for `actions` (`pull` or `push,pull`). */
export async function openTrustRepository(
  ctx: DockerContext,
  ref: ImageReference,
  actions: 'pull' | 'push,pull',
): Promise<OpenedRepository> {
  const gun = fullName(ref);
  const server = trustServerUrl(ctx, ref.domain);
  const http = await ctx.http();
  const auth = new Authorizer(http, new URL(server), await ctx.credentials(ref.domain));
  const scope = [`repository:${gun}:${actions}`];
  const headers = async (): Promise<Record<string, string>> => {
    try {
      return await auth.headers(scope);
    } catch (error) {
      if (error instanceof RegistryError && (error.code === 'UNREACHABLE' || error.code === 'TLS')) return {};
      if (error instanceof RegistryError && error.code === 'UNAUTHORIZED') {
        throw new FetchError(
          'UNAUTHORIZED',
          'you are not authorized to perform this operation: server returned 401.',
          {
            cause: error,
            suggestion: 'Your saved login was refused by the trust server: run `docker login` again.',
          },
        );
      }
      throw error;
    }
  };
  const repo = new NotaryRepository({
    server,
    gun,
    trustDir: ctx.env.trustDir,
    ca: ctx.ca(),
    socketPath: ctx.hubSocketPath(server),
    headers,
    onUnauthorized: async () => {
      auth.reset();
      return headers();
    },
    passphrases: promptingRetriever({ terminal: ctx.terminal, flavour: DOCKER_FLAVOUR, env: ctx.env.env }),
    onWarning: () => {
      // notary logs these at debug level only; docker prints nothing.
    },
    // Signing uses root keys on the attendee's YubiKey first; without one, docker's notary
    // client falls back to the file store and says so only at debug level (docker prints nothing).
    ...(actions === 'push,pull' ? { hardware: await hardwareFor(ctx) } : {}),
  });
  return {
    repo,
    gun,
    close: () => {
      repo.close();
      http.close();
    },
  };
}

/** The attendee's YubiKey, through the token socket, when a helper is paired. */
async function hardwareFor(ctx: DockerContext): Promise<TokenKeyStore | undefined> {
  return TokenKeyStore.connect(ctx.env.env, { out: (text) => ctx.out(text), debug: () => {} });
}

/** docker's trust.NotaryError: the learner-facing line for a trust failure. */
export function notaryError(gun: string, error: unknown): DockerError {
  if (error instanceof DockerError) return error;
  if (error instanceof TokenRequestError) {
    // What docker says when a signature could not be made (trust.NotaryError on
    // signed.ErrInsufficientSignatures), with the token's own reason.
    return new DockerError(
      'TOKEN_FAILED',
      `Error: could not produce valid signature for ${gun}.  If Yubikey was used, was touch input provided?: ${error.message}`,
      { cause: error, ...(error.suggestion ? { suggestion: error.suggestion } : {}) },
    );
  }
  if (error instanceof PromptAborted) {
    return new DockerError('ABORTED', `passphrase entry aborted (${error.message})`, {
      cause: error,
      suggestion: 'Run the command again and answer the passphrase prompts.',
    });
  }
  if (!(error instanceof TrustError)) {
    return new DockerError('TRUST_ERROR', error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
  const options = { cause: error, ...(error.suggestion ? { suggestion: error.suggestion } : {}) };
  switch (error.code) {
    case 'TRUST_DATA_MISSING':
      return new DockerError(
        'TRUST_DATA_MISSING',
        `Error: remote trust data does not exist for ${gun}: ${error.message}`,
        {
          ...options,
          suggestion:
            'Nobody has signed this repository yet: push it with DOCKER_CONTENT_TRUST=1 to sign it.',
        },
      );
    case 'SERVER_UNREACHABLE':
      return new DockerError('UNREACHABLE', `Error: ${error.message}`, options);
    case 'EXPIRED':
      return new DockerError(
        'TRUST_ERROR',
        `Error: remote repository ${gun} out-of-date: ${error.message}`,
        options,
      );
    case 'ROLLBACK':
      return new DockerError(
        'TRUST_ERROR',
        `Warning: potential malicious behavior - trust data version is lower than expected for remote repository ${gun}: ${error.message}`,
        options,
      );
    case 'THRESHOLD_NOT_MET':
    case 'BAD_SIGNATURE':
      return new DockerError(
        'TRUST_ERROR',
        `Warning: potential malicious behavior - trust data has insufficient signatures for remote repository ${gun}: ${error.message}`,
        options,
      );
    case 'ROOT_ROTATION_FAILED':
    case 'HASH_MISMATCH':
    case 'LENGTH_MISMATCH':
      return new DockerError(
        'TRUST_ERROR',
        `Warning: potential malicious behavior - trust data mismatch for remote repository ${gun}: ${error.message}`,
        options,
      );
    case 'KEY_NOT_FOUND':
      return new DockerError(
        'SIGNING_FAILED',
        `Error: signing keys for remote repository ${gun} not found: ${error.message}`,
        options,
      );
    default:
      return new DockerError('TRUST_ERROR', error.message, options);
  }
}

export interface TrustedTarget {
  tag: string;
  digest: string;
  target: TargetWithRole;
}

/**
 * getTrustedPullTargets for one tag: update, then look the tag up in
 * `targets/releases` then `targets`. Refusals: "No valid trust data for
 * <tag>" when nobody signed it, "No trust data for <tag>" when only
 * another delegation did.
 */
export async function resolveTrustedTag(
  ctx: DockerContext,
  ref: ImageReference,
  tag: string,
): Promise<TrustedTarget> {
  const opened = await openTrustRepository(ctx, ref, 'pull');
  try {
    let trusted: TrustedRepository;
    try {
      trusted = await opened.repo.update();
    } catch (error) {
      throw notaryError(opened.gun, error);
    }
    const found = trusted.lookupTarget(tag);
    if (!found) {
      throw new DockerError('TAG_NOT_SIGNED', `No valid trust data for ${tag}`, {
        suggestion: `The tag ${tag} is not signed. Pull a signed tag, or use --disable-content-trust to pull it unverified.`,
      });
    }
    if (found.role !== 'targets' && found.role !== 'targets/releases') {
      throw new DockerError('TAG_NOT_SIGNED', `No trust data for ${tag}`, {
        suggestion: `The tag ${tag} is signed only by ${found.role}, which docker does not pull from.`,
      });
    }
    const sha = found.meta.sha256;
    if (!sha) throw new DockerError('TRUST_ERROR', `no sha256 hash for ${tag} in the trust data`);
    return { tag, digest: `sha256:${toHex(sha)}`, target: found };
  } finally {
    opened.close();
  }
}

/** cli/trust GetSignableRoles: `targets` when there are no delegations, else each direct delegation we hold a key for. */
export async function signableRoles(
  repo: NotaryRepository,
  trusted: TrustedRepository,
  gun: string,
  tag: string,
): Promise<string[]> {
  const delegations = trusted.targets.signed.delegations.roles;
  if (delegations.length === 0) return ['targets'];
  const roles: string[] = [];
  for (const role of delegations) {
    if (role.name.split('/').length !== 2 || !role.matches(tag)) continue;
    for (const keyId of role.keyids) {
      if (await repo.keys.has(keyId)) {
        roles.push(role.name);
        break;
      }
    }
  }
  if (roles.length === 0)
    throw new DockerError(
      'SIGNING_FAILED',
      `failed to sign ${gun}:${tag}: no valid signing keys for delegation roles`,
      {
        suggestion:
          'This repository has signers: import the key of one of them (docker trust key load) to sign.',
      },
    );
  return roles;
}

/**
 * trust_push.go after the image is pushed: initialise a new repository
 * (root key, repository key, server-managed snapshot), or sign into every
 * role we can, then publish.
 */
export async function signPushedTag(
  ctx: DockerContext,
  ref: ImageReference,
  tag: string,
  manifest: { length: number; digest: string },
): Promise<void> {
  ctx.out('Signing and pushing trust metadata\n');
  const opened = await openTrustRepository(ctx, ref, 'push,pull');
  const { repo, gun } = opened;
  const meta = new FileMeta(manifest.length, { sha256: fromHex(manifest.digest.replace(/^sha256:/, '')) });
  try {
    let editor: RepositoryEditor;
    let roles: string[];
    let trusted: TrustedRepository | undefined;
    try {
      trusted = await repo.update();
    } catch (error) {
      if (!(error instanceof FetchError && error.code === 'TRUST_DATA_MISSING'))
        throw notaryError(gun, error);
    }
    if (!trusted) {
      try {
        editor = await repo.initialize({ serverManagedSnapshot: true });
      } catch (error) {
        throw notaryError(gun, error);
      }
      ctx.out(`Finished initializing "${gun}"\n`);
      roles = ['targets'];
    } else {
      roles = await signableRoles(repo, trusted, gun, tag);
      let localSnapshot = false;
      for (const key of Object.values(trusted.root.signed.roleKeys('snapshot'))) {
        if (await repo.keys.has(key.canonicalId())) localSnapshot = true;
      }
      editor = RepositoryEditor.fromTrusted(trusted, new Date(), !localSnapshot);
    }
    try {
      for (const role of roles) editor.addTarget(tag, meta, role);
      await repo.publish(editor);
    } catch (error) {
      const inner = notaryError(gun, error);
      throw new DockerError('SIGNING_FAILED', `failed to sign ${gun}:${tag}: ${inner.message}`, {
        cause: error,
        ...(inner.suggestion ? { suggestion: inner.suggestion } : {}),
      });
    }
    ctx.out(`Successfully signed ${gun}:${tag}\n`);
  } finally {
    opened.close();
  }
}
