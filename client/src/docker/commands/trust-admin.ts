/**
 * `docker trust key` and `docker trust signer` (docker/cli
 * cli/command/trust/key_generate.go, key_load.go, signer_add.go,
 * signer_remove.go), with docker 28's messages:
 *
 * - key generate NAME [--dir DIR]: a new ecdsa key stored encrypted in the
 *   trust dir with `role: NAME` and no GUN, and `DIR/NAME.pub` (a `PUBLIC
 *   KEY` PEM with `role: NAME`, mode 0600);
 * - key load [--name NAME] KEYFILE: imports a PEM private key (decrypting it
 *   first when it is encrypted, prompting for the "encrypted" key), then
 *   stores it encrypted with a new passphrase; a `role` header in the file
 *   wins over NAME, as notary's ImportKeys does;
 * - signer add --key PUB... NAME REPO...: initialises a repository without
 *   trust data (root + repository keys, server-managed snapshot), then adds
 *   `targets/NAME` and `targets/releases` with the keys, paths [""];
 * - signer remove [-f] NAME REPO...: removes the signer's keys from
 *   `targets/releases` and the `targets/NAME` delegation, asking first when
 *   it signed the last released version.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { flagBool, flagString, parseArgs, requireArgs } from '../args.js';
import type { ParsedArgs } from '../args.js';
import type { DockerContext } from '../context.js';
import { DockerError } from '../errors.js';
import { HELP } from '../help-texts.js';
import { parseReference } from '../reference.js';
import { notaryError, openTrustRepository } from '../trust.js';
import { DOCKER_FLAVOUR, promptingRetriever } from '../../trust/passphrase.js';
import {
  FetchError,
  KeyError,
  PrivateKey,
  PublicKey,
  RepositoryEditor,
  decodeKeyFile,
  decodePem,
  encodePem,
} from '../../../../trust-core/src/index.js';
import type { PassphraseRetriever, TrustedRepository } from '../../../../trust-core/src/index.js';
import { FileKeyStore } from '../../../../trust-core/src/node/index.js';

const GROUP_HELP: Readonly<Record<string, string>> = {
  key: `Usage:  docker trust key COMMAND

Manage keys for signing Docker images

Commands:
  generate    Generate and load a signing key-pair
  load        Load a private key file for signing

Run 'docker trust key COMMAND --help' for more information on a command.
`,
  signer: `Usage:  docker trust signer COMMAND

Manage entities who can sign Docker images

Commands:
  add         Add a signer
  remove      Remove a signer

Run 'docker trust signer COMMAND --help' for more information on a command.
`,
};

const SUBCOMMANDS: Readonly<Record<string, readonly string[]>> = {
  key: ['generate', 'load'],
  signer: ['add', 'remove'],
};

const RELEASES = 'targets/releases';
const PUB_FILE_MODE = 0o600;
const MAX_PASSPHRASE_ATTEMPTS = 3;

/** key_generate.go validKeyName (also used for signer names). */
const VALID_NAME = /^[a-z0-9][a-z0-9_-]*$/;

function invalidName(kind: 'key' | 'signer', name: string): DockerError {
  return new DockerError(
    'USAGE',
    `${kind} name "${name}" must start with lowercase alphanumeric characters and can include "-" or "_" after the first character`,
  );
}

function retrieverFor(ctx: DockerContext): PassphraseRetriever {
  return promptingRetriever({ terminal: ctx.terminal, flavour: DOCKER_FLAVOUR, env: ctx.env.env });
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}

function keyStoreError(error: unknown): DockerError {
  if (error instanceof DockerError) return error;
  return notaryError('', error);
}

async function keyGenerate(ctx: DockerContext, parsed: ParsedArgs): Promise<number> {
  const name = parsed.args[0]!;
  const given = flagString(parsed, 'dir');
  if (given !== undefined && given !== '') {
    try {
      await fs.stat(given);
    } catch {
      throw new DockerError('USAGE', `public key path does not exist: ${JSON.stringify(given)}`);
    }
  }
  const dir = given ? given : process.cwd();
  if (!VALID_NAME.test(name)) throw invalidName('key', name);
  const pubPath = path.join(dir, `${name}.pub`);
  let exists = true;
  try {
    await fs.stat(pubPath);
  } catch {
    exists = false;
  }
  if (exists) throw new DockerError('CONFLICT', `public key file already exists: ${JSON.stringify(pubPath)}`);
  ctx.out(`Generating key for ${name}...\n`);
  const key = PrivateKey.generate('ecdsa');
  try {
    await new FileKeyStore(ctx.env.trustDir).save(key, { role: name }, retrieverFor(ctx));
  } catch (error) {
    const inner = keyStoreError(error);
    throw new DockerError(inner.code, `failed to generate key for ${name}: ${inner.message}`, {
      cause: error,
      ...(inner.suggestion ? { suggestion: inner.suggestion } : {}),
    });
  }
  const pem = encodePem({ type: 'PUBLIC KEY', headers: { role: name }, bytes: key.publicKey().publicBytes });
  try {
    await fs.writeFile(pubPath, pem, { mode: PUB_FILE_MODE });
  } catch (error) {
    throw new DockerError('CONFIG', `failed to write public key to ${pubPath}: ${String(error)}`, {
      cause: error,
    });
  }
  ctx.out(`Successfully generated and loaded private key. Corresponding public key available: ${pubPath}\n`);
  return 0;
}

async function keyLoad(ctx: DockerContext, parsed: ParsedArgs): Promise<number> {
  const keyPath = parsed.args[0]!;
  const name = flagString(parsed, 'name') ?? 'signer';
  if (name !== '' && !VALID_NAME.test(name)) throw invalidName('key', name);
  ctx.out(`Loading key from "${keyPath}"...\n`);
  let text: string;
  try {
    const stat = await fs.stat(keyPath);
    if ((stat.mode & 0o077) !== 0) {
      throw new DockerError(
        'CONFIG',
        `refusing to load key from ${keyPath}: private key file ${keyPath} must not be readable or writable by others`,
        { suggestion: `Restrict the file to its owner: chmod 600 ${keyPath}` },
      );
    }
    text = await fs.readFile(keyPath, 'utf8');
  } catch (error) {
    if (error instanceof DockerError) throw error;
    const reason =
      errnoCode(error) === 'ENOENT'
        ? `stat ${keyPath}: no such file or directory`
        : error instanceof Error
          ? error.message
          : String(error);
    throw new DockerError('CONFIG', `refusing to load key from ${keyPath}: ${reason}`, { cause: error });
  }
  const importError = (message: string, cause?: unknown) =>
    new DockerError('CONFIG', `error importing key from ${keyPath}: ${message}`, { cause });
  let block;
  try {
    block = decodePem(text);
  } catch (cause) {
    throw importError(
      `provided file ${keyPath} is not a supported private key - to add a signer's public key use docker trust signer add`,
      cause,
    );
  }
  if (!/PRIVATE KEY$/.test(block.type)) {
    throw importError(
      `provided file ${keyPath} is not a supported private key - to add a signer's public key use docker trust signer add`,
    );
  }
  const encrypted = block.type === 'ENCRYPTED PRIVATE KEY' || 'DEK-Info' in block.headers;
  const retriever = retrieverFor(ctx);
  let key: PrivateKey | undefined;
  if (!encrypted) {
    try {
      key = decodeKeyFile(text, '').key;
    } catch (cause) {
      throw importError(
        `provided file ${keyPath} is not a supported private key - to add a signer's public key use docker trust signer add`,
        cause,
      );
    }
  } else {
    // decodePrivKeyIfNecessary: GetPasswdDecryptBytes(passRet, pem, "", "encrypted").
    for (let attempt = 0; attempt < MAX_PASSPHRASE_ATTEMPTS && !key; attempt++) {
      const passphrase = await retriever({ keyId: '', role: 'encrypted', createNew: false, attempt }).catch(
        (error: unknown) => {
          throw importError(`cannot load key from provided file ${keyPath}: could not decrypt key`, error);
        },
      );
      try {
        key = decodeKeyFile(text, passphrase).key;
      } catch (error) {
        if (error instanceof KeyError && error.code === 'WRONG_PASSPHRASE') continue;
        throw importError(`cannot load key from provided file ${keyPath}: could not decrypt key`, error);
      }
    }
    if (!key) throw importError(`cannot load key from provided file ${keyPath}: could not decrypt key`);
  }
  // notary ImportKeys: the file's role header wins; the name is the fallback.
  const role = block.headers.role || name;
  if (!role) throw importError('no role to assign to key');
  try {
    await new FileKeyStore(ctx.env.trustDir).save(key, { role }, retriever);
  } catch (error) {
    throw importError(keyStoreError(error).message, error);
  }
  ctx.out(`Successfully imported key from ${keyPath}\n`);
  return 0;
}

/** tufutils.ParsePEMPublicKey: a `PUBLIC KEY` (ecdsa or rsa) or a `CERTIFICATE` PEM. */
function parsePublicKeyPem(text: string, file: string): PublicKey {
  const fail = (cause?: unknown) =>
    new DockerError('CONFIG', `could not parse public key from file: ${file}: no valid public key found`, {
      cause,
      suggestion: 'Use the NAME.pub file written by docker trust key generate.',
    });
  let block;
  try {
    block = decodePem(text);
  } catch (cause) {
    throw fail(cause);
  }
  try {
    if (block.type === 'PUBLIC KEY') {
      const type = createPublicKey({
        key: Buffer.from(block.bytes),
        format: 'der',
        type: 'spki',
      }).asymmetricKeyType;
      if (type === 'ec') return new PublicKey('ecdsa', block.bytes);
      if (type === 'rsa') return new PublicKey('rsa', block.bytes);
      throw new Error(`unsupported public key type ${String(type)}`);
    }
    if (block.type === 'CERTIFICATE') {
      const certPem = encodePem({ type: 'CERTIFICATE', headers: {}, bytes: block.bytes });
      const type = new X509Certificate(certPem).publicKey.asymmetricKeyType;
      if (type === 'ec') return new PublicKey('ecdsa-x509', new TextEncoder().encode(certPem));
      if (type === 'rsa') return new PublicKey('rsa-x509', new TextEncoder().encode(certPem));
    }
  } catch (cause) {
    throw fail(cause);
  }
  throw fail();
}

async function ingestPublicKeys(files: readonly string[]): Promise<PublicKey[]> {
  const keys: PublicKey[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      const reason =
        errnoCode(error) === 'ENOENT'
          ? `open ${file}: no such file or directory`
          : error instanceof Error
            ? error.message
            : String(error);
      throw new DockerError('CONFIG', `unable to read public key from file: ${reason}`, { cause: error });
    }
    keys.push(parsePublicKeyPem(text, file));
  }
  return keys;
}

async function localSnapshotKey(repo: { keys: FileKeyStore }, trusted: TrustedRepository): Promise<boolean> {
  for (const key of Object.values(trusted.root.signed.roleKeys('snapshot'))) {
    if (await repo.keys.has(key.canonicalId())) return true;
  }
  return false;
}

async function addSignerToRepo(
  ctx: DockerContext,
  signer: string,
  repoName: string,
  keys: readonly PublicKey[],
): Promise<void> {
  const ref = parseReference(repoName);
  const opened = await openTrustRepository(ctx, ref, 'push,pull');
  const { repo } = opened;
  try {
    let trusted: TrustedRepository | undefined;
    try {
      trusted = await repo.update();
    } catch (error) {
      if (!(error instanceof FetchError && error.code === 'TRUST_DATA_MISSING'))
        throw notaryError(repoName, error);
    }
    let editor: RepositoryEditor;
    if (!trusted) {
      ctx.out(`Initializing signed repository for ${repoName}...\n`);
      try {
        editor = await repo.initialize({ serverManagedSnapshot: true });
      } catch (error) {
        throw notaryError(repoName, error);
      }
      ctx.out(`Successfully initialized ${JSON.stringify(repoName)}\n`);
    } else {
      editor = RepositoryEditor.fromTrusted(trusted, new Date(), !(await localSnapshotKey(repo, trusted)));
    }
    try {
      editor.addDelegation(`targets/${signer}`, keys, ['']);
      editor.addDelegation(RELEASES, keys, ['']);
    } catch (error) {
      throw new DockerError(
        'TRUST_ERROR',
        `could not add signer to repo: ${signer}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    try {
      await repo.publish(editor);
    } catch (error) {
      throw notaryError(repoName, error);
    }
  } finally {
    opened.close();
  }
}

async function signerAdd(ctx: DockerContext, parsed: ParsedArgs): Promise<number> {
  const [signer, ...repos] = parsed.args as [string, ...string[]];
  if (!VALID_NAME.test(signer)) throw invalidName('signer', signer);
  if (signer === 'releases') {
    throw new DockerError('USAGE', 'releases is a reserved keyword, please use a different signer name');
  }
  const keyFiles = parsed.flags.get('key') ?? [];
  if (keyFiles.length === 0) {
    throw new DockerError('USAGE', 'path to a public key must be provided using the `--key` flag', {
      suggestion: 'Generate one with docker trust key generate NAME, then pass --key NAME.pub.',
    });
  }
  const keys = await ingestPublicKeys(keyFiles);
  const failed: string[] = [];
  for (const repoName of repos) {
    ctx.out(`Adding signer "${signer}" to ${repoName}...\n`);
    try {
      await addSignerToRepo(ctx, signer, repoName, keys);
      ctx.out(`Successfully added signer: ${signer} to ${repoName}\n\n`);
    } catch (error) {
      if (!(error instanceof DockerError)) throw error;
      ctx.err(`${error.message}\n\n`);
      failed.push(repoName);
    }
  }
  if (failed.length > 0) {
    throw new DockerError('TRUST_ERROR', `failed to add signer to: ${failed.join(', ')}`);
  }
  return 0;
}

async function removeSingleSigner(
  ctx: DockerContext,
  repoName: string,
  signer: string,
  force: boolean,
): Promise<boolean> {
  const role = `targets/${signer}`;
  if (role === RELEASES) {
    throw new DockerError('USAGE', 'releases is a reserved keyword and cannot be removed');
  }
  const opened = await openTrustRepository(ctx, parseReference(repoName), 'push,pull');
  const { repo } = opened;
  try {
    let trusted: TrustedRepository;
    try {
      trusted = await repo.update();
    } catch (error) {
      throw new DockerError(
        'TRUST_ERROR',
        `error retrieving signers for ${repoName}: ${notaryError(repoName, error).message}`,
        { cause: error },
      );
    }
    const delegation = trusted.targets.signed.delegations.roles.find((r) => r.name === role);
    if (!delegation) {
      throw new DockerError('NOT_FOUND', `no signer ${signer} for repository ${repoName}`);
    }
    // isLastSignerForReleases
    const releasesRole = trusted.targets.signed.delegations.roles.find((r) => r.name === RELEASES);
    const releases = trusted.role(RELEASES);
    const signatures = releases?.signatures ?? [];
    if (signatures.length === 0) {
      throw new DockerError(
        'TRUST_ERROR',
        'all signed tags are currently revoked, use docker trust sign to fix',
      );
    }
    const remaining = signatures.filter((s) => !delegation.keyids.includes(s.keyid)).length;
    if (remaining < (releasesRole?.threshold ?? 1) && !force) {
      const answer = await ctx.terminal.ask(
        `The signer "${signer}" signed the last released version of ${repoName}. Removing this signer will make ${repoName} unpullable. Are you sure you want to continue? [y/N] `,
      );
      if (!/^y(es)?$/i.test(answer.trim())) {
        ctx.out('\nAborting action.\n');
        return false;
      }
    }
    const editor = RepositoryEditor.fromTrusted(
      trusted,
      new Date(),
      !(await localSnapshotKey(repo, trusted)),
    );
    try {
      if (releasesRole) editor.removeDelegationKeys(RELEASES, delegation.keyids);
      editor.removeDelegation(role);
      await repo.publish(editor);
    } catch (error) {
      throw notaryError(repoName, error);
    }
    ctx.out(`Successfully removed ${signer} from ${repoName}\n\n`);
    return true;
  } finally {
    opened.close();
  }
}

async function signerRemove(ctx: DockerContext, parsed: ParsedArgs): Promise<number> {
  const [signer, ...repos] = parsed.args as [string, ...string[]];
  const force = flagBool(parsed, 'force');
  const failed: string[] = [];
  for (const repoName of repos) {
    ctx.out(`Removing signer "${signer}" from ${repoName}...\n`);
    try {
      await removeSingleSigner(ctx, repoName, signer, force);
    } catch (error) {
      if (!(error instanceof DockerError)) throw error;
      ctx.err(`${error.message}\n\n`);
      failed.push(repoName);
    }
  }
  if (failed.length > 0) {
    throw new DockerError('TRUST_ERROR', `error removing signer from: ${failed.join(', ')}`);
  }
  return 0;
}

const USAGES: Readonly<Record<string, string>> = {
  'key generate': 'Usage:  docker trust key generate NAME',
  'key load': 'Usage:  docker trust key load [OPTIONS] KEYFILE',
  'signer add': 'Usage:  docker trust signer add OPTIONS NAME REPOSITORY [REPOSITORY...] ',
  'signer remove': 'Usage:  docker trust signer remove [OPTIONS] NAME REPOSITORY [REPOSITORY...]',
};

export async function trustAdminCommand(
  ctx: DockerContext,
  group: 'key' | 'signer',
  argv: string[],
): Promise<number> {
  const [sub, ...args] = argv;
  ctx.event.command = `trust ${group} ${sub ?? ''}`.trim();
  if (sub === undefined || sub === '--help' || sub === '-h') {
    ctx.out(GROUP_HELP[group]!);
    return 0;
  }
  if (!SUBCOMMANDS[group]!.includes(sub)) {
    throw new DockerError(
      'USAGE',
      `docker: unknown command: docker trust ${group} ${sub}\n\nUsage:  docker trust ${group}\n\nRun 'docker trust ${group} --help' for more information`,
    );
  }
  const command = `trust ${group} ${sub}`;
  const usage = USAGES[`${group} ${sub}`]!;
  switch (`${group} ${sub}`) {
    case 'key generate': {
      const parsed = parseArgs(args, [{ long: 'dir', type: 'string' }], command, usage);
      if (parsed.help) break;
      requireArgs(parsed, command, usage, { exactly: 1 });
      return keyGenerate(ctx, parsed);
    }
    case 'key load': {
      const parsed = parseArgs(args, [{ long: 'name', type: 'string' }], command, usage);
      if (parsed.help) break;
      requireArgs(parsed, command, usage, { exactly: 1 });
      return keyLoad(ctx, parsed);
    }
    case 'signer add': {
      const parsed = parseArgs(args, [{ long: 'key', type: 'strings' }], command, usage);
      if (parsed.help) break;
      requireArgs(parsed, command, usage, { min: 2 });
      ctx.event.trust = true;
      return signerAdd(ctx, parsed);
    }
    default: {
      const parsed = parseArgs(args, [{ long: 'force', short: 'f', type: 'bool' }], command, usage);
      if (parsed.help) break;
      requireArgs(parsed, command, usage, { min: 2 });
      ctx.event.trust = true;
      return signerRemove(ctx, parsed);
    }
  }
  ctx.out(HELP[command]!);
  return 0;
}
