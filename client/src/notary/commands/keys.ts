/**
 * notary's key commands (cmd/notary/keys.go in notary 0.7): list, generate,
 * rotate, import, export, remove, passwd. Keys live in the trust directory's
 * `private/` as notary writes them (trust-core FileKeyStore), so the real
 * notary and ours see the same keys.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BaseRole, PemBlock, PublicKey } from '../../../../trust-core/src/index.js';
import {
  createRootCertificate,
  decodeKeyFile,
  decodePemBlocks,
  encodeKeyFile,
  encodePem,
  PrivateKey,
  readKeyFileHeaders,
  rootPublicKey,
} from '../../../../trust-core/src/index.js';
import { rootCertificateOnToken, storeRootKeyOnToken } from '../../../../trust-core/src/node/index.js';
import { PromptAborted } from '../../cli/terminal.js';
import type { ParsedFlags } from '../args.js';
import { NotaryCliError } from '../errors.js';
import type { NotaryContext } from '../session.js';
import type { CommandResult } from './repo.js';
import { errnoText } from './repo.js';

export { keyListCommand } from './key-list.js';

export async function keyGenerateCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  if (args.length > 1) {
    throw new NotaryCliError('Please provide only one Algorithm as an argument to generate (rsa, ecdsa)', {
      usage: 'key generate',
    });
  }
  const algorithm = (args[0] ?? 'ecdsa').toLowerCase();
  if (algorithm !== 'ecdsa') throw new NotaryCliError('Algorithm not allowed, possible values are: ECDSA');
  const role = flags.string('role') || 'root';
  const key = PrivateKey.generate('ecdsa');
  const output = flags.string('output');
  if (output) {
    // notary writes <output>.pem (public key) and <output>-key.pem (encrypted private key) and stores nothing.
    const passphrase = await ctx.passphrases({ keyId: key.id, role, createNew: true, attempt: 0 });
    const pub = key.publicKey();
    await writeFile(
      `${output}.pem`,
      encodePem({ type: 'PUBLIC KEY', headers: { role }, bytes: pub.publicBytes }),
      { mode: 0o600 },
    );
    await writeFile(`${output}-key.pem`, encodeKeyFile(key, { role, passphrase }), { mode: 0o600 });
    return { role };
  }
  if (!(role === 'root' && (await storeRootKey(ctx, key)))) {
    await ctx.keys.save(key, { role }, ctx.passphrases);
  }
  ctx.out(`Generated new ecdsa ${role} key with keyID: ${key.id}\n`);
  return { role };
}

const ROTATABLE: readonly string[] = ['root', 'targets', 'snapshot', 'timestamp'];

async function confirm(ctx: NotaryContext, question: string): Promise<boolean> {
  let answer: string;
  try {
    answer = await ctx.terminal.ask(question);
  } catch (error) {
    if (error instanceof PromptAborted) return false;
    throw error;
  }
  return ['y', 'yes'].includes(answer.trim().toLowerCase());
}

export async function keyRotateCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  if (args.length < 2)
    throw new NotaryCliError('Must specify a GUN and a key role to rotate', { usage: 'key rotate' });
  const [gun, role] = args as [string, string];
  if (!ROTATABLE.includes(role))
    throw new NotaryCliError(`notary does not currently permit rotating the ${role} key`);
  const serverManaged = flags.bool('server-managed');
  if (role === 'timestamp' && !serverManaged) {
    throw new NotaryCliError('notary does not permit the client managing the timestamp key');
  }
  if (role === 'root' && serverManaged) {
    throw new NotaryCliError('notary does not permit the server managing the root key');
  }
  if (role === 'targets' && serverManaged) {
    throw new NotaryCliError('notary does not permit the server managing the targets key');
  }
  const keyFiles = flags.strings('key');
  if (keyFiles.length > 0 && serverManaged) {
    throw new NotaryCliError('--key cannot be used with --server-managed');
  }
  if ((flags.int('legacy') ?? 0) > 0) {
    throw new NotaryCliError('--legacy is not supported by this client');
  }
  if (role === 'root') {
    const question =
      'Warning: you are about to rotate your root key.\n\n' +
      'You must use your old key to sign this root rotation.\n' +
      'Are you sure you want to proceed?  (yes/no)  ';
    if (!(await confirm(ctx, question))) {
      ctx.out('\nAborting action.\n');
      return { gun, role };
    }
  }
  const session = await ctx.signingSession(gun, serverManaged ? '*' : 'push');
  try {
    const snapshotServer = role === 'snapshot' ? serverManaged : undefined;
    const { editor, trusted } = await session.edit(snapshotServer);
    const oldKeys = Object.values(trusted.root.signed.roleKeys(role as BaseRole));
    let newKeys: PublicKey[];
    if (serverManaged) {
      newKeys = [await session.repo.remote.rotateServerKey(role as 'snapshot' | 'timestamp')];
    } else {
      const privates =
        keyFiles.length > 0 ? await readPrivateKeys(ctx, keyFiles, role) : [PrivateKey.generate('ecdsa')];
      newKeys = [];
      for (const key of privates) {
        if (role !== 'root') {
          await ctx.keys.save(key, { role, gun }, ctx.passphrases);
          newKeys.push(key.publicKey());
          continue;
        }
        // A new root key goes to the YubiKey when there is one, which then signs its certificate.
        const hardware = await ctx.hardware();
        if (hardware === undefined) {
          await ctx.keys.save(key, { role, gun }, ctx.passphrases);
          newKeys.push(rootPublicKey(createRootCertificate(key, gun, { now: new Date() })));
        } else {
          const stored = await storeRootKeyOnToken(hardware, ctx.keys, key, ctx.passphrases);
          newKeys.push(rootPublicKey(await rootCertificateOnToken(hardware, stored, gun, new Date())));
        }
      }
    }
    editor.rotateKey(role as BaseRole, newKeys);
    await session.publish(editor);
    // notary drops the replaced signing keys from the key store (not the root key, which stays as a backup).
    if (role === 'targets' || role === 'snapshot') {
      const kept = new Set(newKeys.map((k) => k.canonicalId()));
      for (const old of oldKeys) {
        const id = old.canonicalId();
        if (!kept.has(id) && (await ctx.keys.has(id))) await ctx.keys.remove(id);
      }
    }
  } finally {
    session.close();
  }
  ctx.out(`Successfully rotated ${role} key for repository ${gun}\n`);
  return { gun, role };
}

/** `key rotate --key FILE`: private key files to rotate to. */
async function readPrivateKeys(
  ctx: NotaryContext,
  files: readonly string[],
  role: string,
): Promise<PrivateKey[]> {
  const out: PrivateKey[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new NotaryCliError(`could not read key file ${file}: ${errnoText(error)}`);
    }
    out.push(await decryptKeyText(ctx, text, role, path.basename(file)));
  }
  return out;
}

async function decryptKeyText(
  ctx: NotaryContext,
  text: string,
  role: string,
  label: string,
): Promise<PrivateKey> {
  const headers = readKeyFileHeaders(text);
  if (!headers.encrypted) return decodeKeyFile(text, '').key;
  for (let attempt = 0; attempt < 4; attempt++) {
    const passphrase = await ctx.passphrases({
      keyId: label,
      role: headers.role ?? role,
      createNew: false,
      attempt,
    });
    try {
      return decodeKeyFile(text, passphrase).key;
    } catch {
      // wrong passphrase: ask again
    }
  }
  throw new NotaryCliError('password invalid, operation has failed.');
}

/**
 * A new or imported root key goes to the YubiKey when there is one, with an
 * encrypted backup in the file store, as notary's YubiKey store takes it.
 * False when there is no token.
 */
async function storeRootKey(ctx: NotaryContext, key: PrivateKey): Promise<boolean> {
  const hardware = await ctx.hardware();
  if (hardware === undefined) return false;
  await storeRootKeyOnToken(hardware, ctx.keys, key, ctx.passphrases);
  return true;
}

export async function keyImportCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  if (args.length < 1) {
    throw new NotaryCliError('must specify at least one input file to import keys from', {
      usage: 'key import',
    });
  }
  const roleFlag = flags.string('role');
  const gunFlag = flags.string('gun');
  let failed = false;
  for (const file of args) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new NotaryCliError(`Opening file for import: open ${file}: ${errnoText(error)}`);
    }
    let blocks: PemBlock[];
    try {
      blocks = decodePemBlocks(text);
    } catch {
      blocks = [];
    }
    if (blocks.length === 0) failed = true;
    for (const block of blocks) {
      if (!block.type.includes('PRIVATE KEY')) {
        ctx.warn(
          'failed to import key to store: Invalid key generated, key may be encrypted and does not contain path header',
        );
        failed = true;
        continue;
      }
      const role = block.headers.role ?? roleFlag ?? 'root';
      const gun = block.headers.gun ?? gunFlag;
      const id = block.headers.path;
      const encrypted = block.type === 'ENCRYPTED PRIVATE KEY';
      if (encrypted && !id) {
        // notary cannot name an encrypted key without a path header (notary storage/filestore.go, tuf/utils/pkcs8.go).
        ctx.warn(
          'failed to import key to store: Invalid key generated, key may be encrypted and does not contain path header',
        );
        failed = true;
        continue;
      }
      const headers: Record<string, string> = { role };
      if (gun && role !== 'root' && !role.startsWith('targets/')) headers.gun = gun;
      const pem = encodePem({ type: block.type, headers, bytes: block.bytes });
      if (encrypted) {
        await writeFile(ctx.keys.pathFor(id!), pem, { mode: 0o600 });
        continue;
      }
      const key = decodeKeyFile(pem, '').key;
      if (role === 'root' && (await storeRootKey(ctx, key))) continue;
      await ctx.keys.save(key, { role, ...(headers.gun ? { gun: headers.gun } : {}) }, ctx.passphrases);
    }
  }
  if (failed) throw new NotaryCliError('failed to import all keys: invalid key pem block');
  return {};
}

export async function keyExportCommand(
  ctx: NotaryContext,
  _args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  const ids = flags.strings('key');
  const guns = flags.strings('gun');
  const chosen = (await ctx.keys.list()).filter(
    (k) => (ids.length === 0 || ids.includes(k.id)) && (guns.length === 0 || guns.includes(k.gun ?? '')),
  );
  let out = '';
  for (const entry of chosen) {
    const [block] = decodePemBlocks(await readFile(entry.path, 'utf8'));
    if (!block) continue;
    // notary adds the key ID as a `path` header so `key import` can name an encrypted key.
    out += encodePem({ ...block, headers: { ...block.headers, path: entry.id } });
  }
  const output = flags.string('output');
  if (output) await writeFile(output, out, { mode: 0o600 });
  else ctx.out(out);
  return {};
}

export async function keyRemoveCommand(ctx: NotaryContext, args: string[]): Promise<CommandResult> {
  if (args.length < 1)
    throw new NotaryCliError('must specify the key ID of the key to remove', { usage: 'key remove' });
  const id = args[0]!;
  const entry = (await ctx.keys.list()).find((k) => k.id === id);
  if (!entry) throw new NotaryCliError(`could not remove ${id}: no key with that ID`);
  const where = path.dirname(entry.path);
  const question = `\nAre you sure you want to remove ${id} (role ${entry.role}) from ${where}?  (yes/no)  `;
  if (!(await confirm(ctx, question))) {
    ctx.out('\nAborting action.\n\n');
    return { role: entry.role };
  }
  await ctx.keys.remove(id);
  ctx.out(`\nDeleted ${id} (role ${entry.role}) from ${where}.\n\n`);
  return { role: entry.role };
}

export async function keyPasswdCommand(ctx: NotaryContext, args: string[]): Promise<CommandResult> {
  if (args.length < 1) {
    throw new NotaryCliError('must specify the key ID of the key to change the passphrase of', {
      usage: 'key passwd',
    });
  }
  const id = args[0]!;
  const entry = (await ctx.keys.list()).find((k) => k.id === id);
  const key = entry ? await ctx.loadKey(id) : undefined;
  if (!entry || !key) throw new NotaryCliError(`could not retrieve local key for key ID provided: ${id}`);
  const passphrase = await ctx.passphrases({
    keyId: id,
    role: entry.role,
    createNew: true,
    attempt: 0,
    ...(entry.gun ? { gun: entry.gun } : {}),
  });
  await ctx.keys.save(key, { role: entry.role, ...(entry.gun ? { gun: entry.gun } : {}) }, passphrase);
  ctx.out(`\nSuccessfully updated passphrase for key ID: ${id}\n`);
  return { role: entry.role };
}
