/**
 * `docker trust` (docker/cli cli/command/trust): inspect, sign and revoke,
 * with docker 28's flags, help texts, JSON field names and messages.
 *
 * - inspect: notary's GetAllTargetMetadataByName, ListRoles and
 *   GetDelegationRoles as docker reads them: tags signed in `targets` or
 *   `targets/releases` are listed, with the delegations that also signed
 *   them (`Repo Admin` when only `targets`/`targets/releases` did);
 *   `Root` keys are root.json's root key IDs (the certificate IDs),
 *   `Repository` the targets key IDs.
 * - sign: a tag the trust data already knows is signed again into every
 *   role we hold a key for; otherwise the local image is pushed and signed
 *   as `DOCKER_CONTENT_TRUST=1 docker push` does.
 * - revoke: the tag (or every released tag) is removed from every role we
 *   can sign.
 */
import { flagBool, parseArgs, requireArgs } from '../args.js';
import type { DockerContext } from '../context.js';
import { DockerError } from '../errors.js';
import { table } from '../format.js';
import { HELP } from '../help-texts.js';
import type { ImageReference } from '../reference.js';
import { parseReference } from '../reference.js';
import { FetchError, RepositoryEditor, toHex } from '../../../../trust-core/src/index.js';
import type { TrustedRepository, FileMeta } from '../../../../trust-core/src/index.js';
import { notaryError, openTrustRepository, signableRoles } from '../trust.js';

const TRUST_HELP = `Usage:  docker trust COMMAND

Manage trust on Docker images

Management Commands:
  key         Manage keys for signing Docker images
  signer      Manage entities who can sign Docker images

Commands:
  inspect     Return low-level information about keys and signatures
  revoke      Remove trust for an image
  sign        Sign an image

Run 'docker trust COMMAND --help' for more information on a command.
`;

const RELEASES = 'targets/releases';
const REPO_ADMIN = 'Repo Admin';

function isReleased(role: string): boolean {
  return role === 'targets' || role === RELEASES;
}

/** notaryRoleToSigner: `Repo Admin` for targets and targets/releases, else the name under `targets/`. */
function roleToSigner(role: string): string {
  return isReleased(role) ? REPO_ADMIN : role.replace(/^targets\//, '');
}

interface TrustTagRow {
  SignedTag: string;
  Digest: string;
  Signers: string[];
}

interface TrustSigner {
  Name: string;
  Keys: Array<{ ID: string }>;
}

interface TrustInfo {
  rows: TrustTagRow[];
  /** Delegations other than targets/releases: signer name → canonical key IDs. */
  signers: Map<string, string[]>;
  rootKeys: string[];
  targetsKeys: string[];
}

/** Every (role, target) of the repository, optionally for one tag (GetAllTargetMetadataByName). */
function allTargets(trusted: TrustedRepository, tag: string | undefined) {
  const out: Array<{ role: string; name: string; meta: FileMeta }> = [];
  const paths = new Map<string, (name: string) => boolean>();
  for (const role of trusted.roles()) {
    const md = trusted.role(role);
    if (!md) continue;
    for (const child of md.signed.delegations.roles) {
      if (!paths.has(child.name)) paths.set(child.name, (name) => child.matches(name));
    }
    const allowed = paths.get(role);
    for (const [name, meta] of Object.entries(md.signed.targets)) {
      if (tag !== undefined && name !== tag) continue;
      if (allowed && !allowed(name)) continue;
      out.push({ role, name, meta });
    }
  }
  return out;
}

function digestOf(meta: FileMeta): string {
  return meta.sha256 ? toHex(meta.sha256) : '';
}

function trustInfo(trusted: TrustedRepository, tag: string | undefined): TrustInfo {
  const targets = allTargets(trusted, tag);
  const released = new Map<string, TrustTagRow>();
  for (const t of targets) {
    if (!isReleased(t.role)) continue;
    const key = `${t.name}\u0000${digestOf(t.meta)}`;
    if (!released.has(key)) released.set(key, { SignedTag: t.name, Digest: digestOf(t.meta), Signers: [] });
  }
  for (const t of targets) {
    const row = released.get(`${t.name}\u0000${digestOf(t.meta)}`);
    if (row && !isReleased(t.role)) row.Signers.push(roleToSigner(t.role));
  }
  const rows = [...released.values()].sort((a, b) =>
    a.SignedTag === b.SignedTag
      ? a.Digest < b.Digest
        ? -1
        : a.Digest > b.Digest
          ? 1
          : 0
      : a.SignedTag < b.SignedTag
        ? -1
        : 1,
  );
  for (const row of rows) if (row.Signers.length === 0) row.Signers.push(REPO_ADMIN);

  const signers = new Map<string, string[]>();
  for (const role of trusted.roles()) {
    const md = trusted.role(role);
    if (!md) continue;
    const keys = md.signed.delegations.keys;
    for (const child of md.signed.delegations.roles) {
      if (child.name === RELEASES || signers.has(roleToSigner(child.name))) continue;
      signers.set(
        roleToSigner(child.name),
        child.keyids.map((id) => keys[id]?.canonicalId() ?? id),
      );
    }
  }
  const root = trusted.root.signed;
  return {
    rows,
    signers,
    rootKeys: [...(root.roles.root?.keyids ?? [])],
    targetsKeys: [...(root.roles.targets?.keyids ?? [])],
  };
}

async function lookupTrustInfo(ctx: DockerContext, remote: string): Promise<TrustInfo> {
  const ref = parseReference(remote);
  const opened = await openTrustRepository(ctx, ref, 'pull');
  try {
    let trusted: TrustedRepository;
    try {
      trusted = await opened.repo.update();
    } catch {
      throw new DockerError('TRUST_DATA_MISSING', `No signatures or cannot access ${remote}`);
    }
    return trustInfo(trusted, ref.tag);
  } finally {
    opened.close();
  }
}

function keyList(ids: readonly string[]): Array<{ ID: string }> {
  return ids.map((ID) => ({ ID }));
}

function repoInfoJson(remote: string, info: TrustInfo) {
  const signers: TrustSigner[] = [...info.signers.entries()]
    .map(([Name, ids]) => ({ Name, Keys: keyList(ids) }))
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  return {
    Name: remote,
    SignedTags: info.rows,
    Signers: signers,
    AdministrativeKeys: [
      { Name: 'Root', Keys: keyList(info.rootKeys) },
      { Name: 'Repository', Keys: keyList(info.targetsKeys) },
    ],
  };
}

function prettyTrustInfo(remote: string, info: TrustInfo): string {
  let out = '';
  if (info.rows.length > 0) {
    out += `\nSignatures for ${remote}\n\n`;
    out += table([
      ['SIGNED TAG', 'DIGEST', 'SIGNERS'],
      ...info.rows.map((r) => [r.SignedTag, r.Digest, [...r.Signers].sort().join(', ')]),
    ]);
  } else {
    out += `\nNo signatures for ${remote}\n\n`;
  }
  const name = remote.split(':')[0]!;
  if (info.signers.size > 0) {
    out += `\nList of signers and their keys for ${name}\n\n`;
    out += table([
      ['SIGNER', 'KEYS'],
      ...[...info.signers.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([signer, ids]) => [signer, [...ids].sort().join(', ')]),
    ]);
  }
  out += `\nAdministrative keys for ${name}\n\n`;
  out += `Repository Key:\t${[...info.targetsKeys].sort().join(', ')}\n`;
  out += `Root Key:\t${[...info.rootKeys].sort().join(', ')}\n`;
  return out;
}

async function inspectCommand(ctx: DockerContext, argv: string[]): Promise<number> {
  const usage = 'Usage:  docker trust inspect IMAGE[:TAG] [IMAGE[:TAG]...]';
  const parsed = parseArgs(argv, [{ long: 'pretty', type: 'bool' }], 'trust inspect', usage);
  if (parsed.help) {
    ctx.out(HELP['trust inspect']!);
    return 0;
  }
  requireArgs(parsed, 'trust inspect', usage, { min: 1 });
  if (flagBool(parsed, 'pretty')) {
    for (const remote of parsed.args) ctx.out(prettyTrustInfo(remote, await lookupTrustInfo(ctx, remote)));
    return 0;
  }
  const elements: unknown[] = [];
  const errors: string[] = [];
  for (const remote of parsed.args) {
    try {
      elements.push(repoInfoJson(remote, await lookupTrustInfo(ctx, remote)));
    } catch (error) {
      if (!(error instanceof DockerError)) throw error;
      errors.push(error.message);
    }
  }
  ctx.out(`${JSON.stringify(elements, null, 4)}\n`);
  if (errors.length > 0) throw new DockerError('TRUST_DATA_MISSING', errors.join('\n'));
  return 0;
}

function taggedReference(input: string, command: string): ImageReference & { tag: string } {
  const ref = parseReference(input);
  if (ref.tag === undefined || ref.digest !== undefined) {
    throw new DockerError('USAGE', `No tag specified for ${input}`, {
      suggestion: `Name the tag to ${command}: docker trust ${command} <image>:<tag>.`,
    });
  }
  return ref as ImageReference & { tag: string };
}

async function signCommand(ctx: DockerContext, argv: string[]): Promise<number> {
  const usage = 'Usage:  docker trust sign IMAGE:TAG';
  const parsed = parseArgs(argv, [{ long: 'local', type: 'bool' }], 'trust sign', usage);
  if (parsed.help) {
    ctx.out(HELP['trust sign']!);
    return 0;
  }
  requireArgs(parsed, 'trust sign', usage, { exactly: 1 });
  const input = parsed.args[0]!;
  const ref = taggedReference(input, 'sign');
  const tag = ref.tag;
  ctx.event.trust = true;
  ctx.event.reference = input;
  const opened = await openTrustRepository(ctx, ref, 'push,pull');
  const { repo, gun } = opened;
  let target: { meta: FileMeta; trusted: TrustedRepository } | undefined;
  try {
    let trusted: TrustedRepository | undefined;
    try {
      trusted = await repo.update();
    } catch (error) {
      if (!(error instanceof FetchError && error.code === 'TRUST_DATA_MISSING'))
        throw notaryError(gun, error);
    }
    const found = trusted?.lookupTarget(tag, ['targets']);
    if (trusted && found && !flagBool(parsed, 'local')) target = { meta: found.meta, trusted };
  } finally {
    if (!target) opened.close();
  }
  if (!target) {
    // Not signed anywhere yet: push the local image with content trust (image.TrustedPush).
    const image = await ctx.store.referenceTarget(ref);
    if (!image) {
      opened.close();
      throw new DockerError('NO_SUCH_IMAGE', `Error: No such image: ${input}`, {
        suggestion: `Tag an image first: docker tag <image> ${input}`,
      });
    }
    ctx.err(`Signing and pushing trust data for local image ${input}, may overwrite remote trust data\n`);
    const { pushCommand } = await import('./push.js');
    const trustedCtx = Object.create(ctx) as DockerContext;
    Object.defineProperty(trustedCtx, 'env', { value: { ...ctx.env, contentTrust: true } });
    return pushCommand(trustedCtx, [input]);
  }
  try {
    ctx.out(`Signing and pushing trust metadata for ${input}\n`);
    const { trusted, meta } = target;
    const digest = digestOf(meta);
    const existing = allTargets(trusted, tag)
      .filter((t) => digestOf(t.meta) === digest && !isReleased(t.role))
      .map((t) => roleToSigner(t.role));
    const roles = await signableRoles(repo, trusted, gun, tag);
    let localSnapshot = false;
    for (const key of Object.values(trusted.root.signed.roleKeys('snapshot'))) {
      if (await repo.keys.has(key.canonicalId())) localSnapshot = true;
    }
    const editor = RepositoryEditor.fromTrusted(trusted, new Date(), !localSnapshot);
    try {
      for (const role of roles) editor.addTarget(tag, meta, role);
      if (existing.length > 0) {
        ctx.out(`Existing signatures for tag ${tag} digest ${digest} from:\n${existing.join(', ')}\n`);
      }
      await repo.publish(editor);
    } catch (error) {
      const inner = notaryError(gun, error);
      throw new DockerError('SIGNING_FAILED', `failed to sign ${gun}:${tag}: ${inner.message}`, {
        cause: error,
        ...(inner.suggestion ? { suggestion: inner.suggestion } : {}),
      });
    }
    ctx.out(`Successfully signed ${gun}:${tag}\n`);
    ctx.event.digest = `sha256:${digest}`;
    ctx.event.outcome = 'SIGNED';
    return 0;
  } finally {
    opened.close();
  }
}

async function revokeCommand(ctx: DockerContext, argv: string[]): Promise<number> {
  const usage = 'Usage:  docker trust revoke [OPTIONS] IMAGE[:TAG]';
  const parsed = parseArgs(argv, [{ long: 'yes', short: 'y', type: 'bool' }], 'trust revoke', usage);
  if (parsed.help) {
    ctx.out(HELP['trust revoke']!);
    return 0;
  }
  requireArgs(parsed, 'trust revoke', usage, { exactly: 1 });
  const remote = parsed.args[0]!;
  const ref = parseReference(remote);
  if (ref.digest !== undefined) {
    throw new DockerError('USAGE', 'cannot use a digest reference for IMAGE:TAG');
  }
  ctx.event.trust = true;
  ctx.event.reference = remote;
  if (ref.tag === undefined && !flagBool(parsed, 'yes')) {
    const answer = await ctx.terminal.ask(
      `Please confirm you would like to delete all signature data for ${remote}? [y/N] `,
    );
    if (!/^y(es)?$/i.test(answer.trim())) {
      ctx.out('\nAborting action.\n');
      return 0;
    }
  }
  const opened = await openTrustRepository(ctx, ref, 'push,pull');
  const { repo, gun } = opened;
  const fail = (error: unknown): DockerError => {
    const inner = notaryError(gun, error);
    return new DockerError(inner.code, `could not remove signature for ${remote}: ${inner.message}`, {
      cause: error,
      ...(inner.suggestion ? { suggestion: inner.suggestion } : {}),
    });
  };
  try {
    let trusted: TrustedRepository;
    try {
      trusted = await repo.update();
    } catch (error) {
      throw fail(error);
    }
    const released =
      ref.tag !== undefined
        ? [trusted.lookupTarget(ref.tag, [RELEASES, 'targets'])].filter((t) => t !== undefined)
        : trusted.listTargets([RELEASES, 'targets']);
    if (released.length === 0) {
      throw fail(
        new DockerError(
          'TAG_NOT_SIGNED',
          ref.tag !== undefined ? `No valid trust data for ${ref.tag}` : 'no signed tags to remove',
        ),
      );
    }
    let localSnapshot = false;
    for (const key of Object.values(trusted.root.signed.roleKeys('snapshot'))) {
      if (await repo.keys.has(key.canonicalId())) localSnapshot = true;
    }
    const editor = RepositoryEditor.fromTrusted(trusted, new Date(), !localSnapshot);
    try {
      for (const target of released) {
        for (const role of await signableRoles(repo, trusted, gun, target.name)) {
          editor.removeTarget(target.name, role);
        }
      }
      await repo.publish(editor);
    } catch (error) {
      throw fail(error);
    }
  } finally {
    opened.close();
  }
  ctx.out(`Successfully deleted signature for ${remote}\n`);
  return 0;
}

export async function trustCommand(ctx: DockerContext, argv: string[]): Promise<number> {
  const [sub, ...args] = argv;
  ctx.event.command = `trust ${sub ?? ''}`.trim();
  switch (sub) {
    case undefined:
    case '--help':
    case '-h':
      ctx.out(TRUST_HELP);
      return 0;
    case 'inspect':
      return inspectCommand(ctx, args);
    case 'sign':
      return signCommand(ctx, args);
    case 'revoke':
      return revokeCommand(ctx, args);
    case 'key':
    case 'signer':
      return (await import('./trust-admin.js')).trustAdminCommand(ctx, sub, args);
    default:
      throw new DockerError(
        'USAGE',
        `docker: unknown command: docker trust ${sub}\n\nUsage:  docker trust\n\nRun 'docker trust --help' for more information`,
      );
  }
}
