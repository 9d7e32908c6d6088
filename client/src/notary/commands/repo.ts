/**
 * notary's repository commands: init, add, remove, publish, list, status,
 * reset, lookup, verify, delete (cmd/notary/tuf.go in notary 0.7). Outputs
 * and messages are notary's, checked against the real binary.
 *
 * `add` and `remove` only stage a change in the changelist (offline); `-p`
 * publishes right after, together with whatever else is staged.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { PrivateKey } from '../../../../trust-core/src/index.js';
import { computeHashes, decodeKeyFile, readKeyFileHeaders, toHex } from '../../../../trust-core/src/index.js';
import type { ParsedFlags } from '../args.js';
import { targetData } from '../changelist.js';
import { NotaryCliError } from '../errors.js';
import { formatTable } from '../format.js';
import type { NotaryContext } from '../session.js';
import { applyChanges, PASSPHRASE_ATTEMPTS } from '../session.js';

export interface CommandResult {
  gun?: string;
  role?: string;
  /** The event's outcome when the command succeeded and `OK` says too little. */
  outcome?: string;
}

function need(args: readonly string[], count: number, message: string, usage: string): void {
  if (args.length < count) throw new NotaryCliError(message, { usage });
}

/** notary publish and every `-p`: apply the changelist, sign, upload, clear the changelist. */
export async function publishStaged(ctx: NotaryContext, gun: string, auto: boolean): Promise<void> {
  ctx.out(auto ? `Auto-publishing changes to ${gun}\n` : `Pushing changes to ${gun}\n`);
  const changelist = ctx.changelist(gun);
  const staged = await changelist.list();
  const session = await ctx.signingSession(gun, 'push');
  try {
    const editor = (await session.exists()) ? (await session.edit()).editor : await session.editCachedInit();
    if (!editor) {
      if (staged.length > 0) {
        throw new NotaryCliError(`repository ${gun} has not been initialized; run notary init ${gun} first`);
      }
    } else {
      applyChanges(
        editor,
        staged.map((s) => s.change),
      );
      await session.publish(editor);
    }
    await changelist.clear();
  } finally {
    session.close();
  }
  ctx.out(`Successfully published changes for repository ${gun}\n`);
}

export async function initCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  need(args, 1, 'Must specify a GUN', 'init');
  const gun = args[0]!;
  if (flags.string('rootcert')) {
    throw new NotaryCliError('--rootcert is not supported by this client; initialise without it');
  }
  let rootKeyId: string | undefined;
  const rootKeyFile = flags.string('rootkey');
  if (rootKeyFile) {
    rootKeyId = await importRootKey(ctx, rootKeyFile);
  } else {
    // The YubiKey's root key first, as notary's key stores are searched.
    const onToken = (await (await ctx.hardware())?.rootKeys())?.[0];
    const existing = onToken ?? (await ctx.keys.list()).find((k) => k.role === 'root');
    if (existing) {
      rootKeyId = existing.id;
      ctx.out(`Root key found, using: ${existing.id}\n`);
    }
  }
  const session = await ctx.signingSession(gun, 'push');
  try {
    const editor = await session.repo.initialize(rootKeyId ? { rootKeyId } : {});
    // notary init signs root, targets and snapshot into the local cache; the first publish uploads them.
    editor.setClock(new Date());
    const { files } = await editor.sign(session.signers());
    for (const [role, bytes] of files) await session.repo.cache.set(role, bytes);
  } finally {
    session.close();
  }
  if (flags.bool('publish')) await publishStaged(ctx, gun, true);
  return { gun };
}

/** `init --rootkey FILE`: a root key file (encrypted or not) imported into the key store. */
async function importRootKey(ctx: NotaryContext, file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new NotaryCliError(`could not read root key file ${file}`, { cause });
  }
  const headers = readKeyFileHeaders(text);
  let key: PrivateKey | undefined;
  let passphrase = '';
  for (let attempt = 0; attempt < PASSPHRASE_ATTEMPTS && !key; attempt++) {
    passphrase = headers.encrypted
      ? await ctx.passphrases({ keyId: 'root', role: 'root', createNew: false, attempt })
      : '';
    try {
      key = decodeKeyFile(text, passphrase).key;
    } catch (error) {
      if (!headers.encrypted) throw error;
    }
  }
  if (!key) throw new NotaryCliError('password invalid, operation has failed.');
  // As notary imports it: onto the YubiKey when there is one (which then signs with it), and
  // into the file store, which keeps the backup.
  await (await ctx.hardware())?.addRootKey(key);
  await ctx.keys.save(key, { role: 'root' }, passphrase);
  return key.id;
}

export async function addCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  need(args, 3, 'Must specify a GUN, target, and path to target data', 'add');
  const [gun, name, file] = args as [string, string, string];
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (error) {
    throw new NotaryCliError(`open ${file}: ${errnoText(error)}`);
  }
  let custom: unknown;
  const customFile = flags.string('custom');
  if (customFile) {
    try {
      custom = JSON.parse(await readFile(customFile, 'utf8'));
    } catch (error) {
      throw new NotaryCliError(`could not read custom data from ${customFile}: ${errnoText(error)}`);
    }
  }
  const roles = flags.strings('roles');
  const changelist = ctx.changelist(gun);
  for (const role of roles.length > 0 ? roles : ['targets']) {
    await changelist.add({
      action: 'create',
      role,
      type: 'target',
      path: name,
      data: targetData(bytes.length, computeHashes(bytes), custom),
    });
  }
  ctx.out(`Addition of target "${name}" to repository "${gun}" staged for next publish.\n`);
  if (flags.bool('publish')) await publishStaged(ctx, gun, true);
  return { gun, ...(roles[0] ? { role: roles[0] } : {}) };
}

export async function removeCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  need(args, 2, 'Must specify a GUN and target', 'remove');
  const [gun, name] = args as [string, string];
  const roles = flags.strings('roles');
  const changelist = ctx.changelist(gun);
  for (const role of roles.length > 0 ? roles : ['targets']) {
    await changelist.add({ action: 'delete', role, type: 'target', path: name, data: null });
  }
  ctx.out(`Removal of ${name} from ${gun} staged for next publish.\n`);
  if (flags.bool('publish')) await publishStaged(ctx, gun, true);
  return { gun };
}

export async function publishCommand(ctx: NotaryContext, args: string[]): Promise<CommandResult> {
  need(args, 1, 'Must specify a GUN', 'publish');
  await publishStaged(ctx, args[0]!, false);
  return { gun: args[0]! };
}

export async function listCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  need(args, 1, 'Must specify a GUN', 'list');
  const gun = args[0]!;
  const session = ctx.session(gun, 'pull');
  try {
    const trusted = await session.update();
    const roles = flags.strings('roles');
    const targets = trusted.listTargets(roles.length > 0 ? roles : ['targets']);
    if (targets.length === 0) {
      ctx.out('\nNo targets present in this repository.\n\n');
      return { gun };
    }
    targets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    ctx.out(
      formatTable(
        ['NAME', 'DIGEST', 'SIZE (BYTES)', 'ROLE'],
        targets.map((t) => [
          t.name,
          t.meta.sha256 ? toHex(t.meta.sha256) : '',
          String(t.meta.length),
          t.role,
        ]),
      ),
    );
    return { gun };
  } finally {
    session.close();
  }
}

export async function lookupCommand(ctx: NotaryContext, args: string[]): Promise<CommandResult> {
  need(args, 2, 'Must specify a GUN and target', 'lookup');
  const [gun, name] = args as [string, string];
  const session = ctx.session(gun, 'pull');
  try {
    const found = (await session.update()).lookupTarget(name, ['targets']);
    if (!found) throw new NotaryCliError(`No valid trust data for ${name}`);
    ctx.out(`${name} sha256:${found.meta.sha256 ? toHex(found.meta.sha256) : ''} ${found.meta.length}\n`);
    return { gun };
  } finally {
    session.close();
  }
}

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return new Uint8Array(Buffer.concat(chunks));
}

export async function verifyCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  need(args, 2, 'Must specify a GUN and target', 'verify');
  const [gun, name] = args as [string, string];
  const input = flags.string('input');
  let data: Uint8Array;
  try {
    data = input ? new Uint8Array(await readFile(input)) : await readAll(ctx.io.stdin);
  } catch (error) {
    throw new NotaryCliError(`unable to read input: ${errnoText(error)}`);
  }
  if (data.length === 0) throw new NotaryCliError('verify: no data received');
  const session = ctx.session(gun, 'pull');
  try {
    const found = (await session.update()).lookupTarget(name, ['targets']);
    if (!found)
      throw new NotaryCliError(
        `error retrieving target by name:${name}, error:No valid trust data for ${name}`,
      );
    const expected = found.meta.sha256 ? toHex(found.meta.sha256) : '';
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== expected) {
      throw new NotaryCliError(
        `data not present in the trusted collection, sha256 checksum for ${name} did not match: expected ${expected}`,
      );
    }
  } finally {
    session.close();
  }
  if (!flags.bool('quiet')) {
    const output = flags.string('output');
    if (output) await writeFile(output, data);
    else ctx.io.stdout.write(Buffer.from(data));
  }
  return { gun };
}

export async function statusCommand(ctx: NotaryContext, args: string[]): Promise<CommandResult> {
  need(args, 1, 'Must specify a GUN', 'status');
  const gun = args[0]!;
  const changes = await ctx.changelist(gun).list();
  if (changes.length === 0) {
    ctx.out(`No unpublished changes for ${gun}\n`);
    return { gun };
  }
  ctx.out(`Unpublished changes for ${gun}:\n\n`);
  ctx.out(
    formatTable(
      ['#', 'ACTION', 'SCOPE', 'TYPE', 'PATH'],
      changes.map((c, i) => [String(i), c.change.action, c.change.role, c.change.type, c.change.path]),
    ),
  );
  return { gun };
}

export async function resetCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  need(args, 1, 'Must specify a GUN', 'reset');
  const gun = args[0]!;
  const numbers = flags.ints('number');
  if (!flags.bool('all') && numbers.length === 0) {
    throw new NotaryCliError('Must specify changes to reset with -n or the --all flag', { usage: 'reset' });
  }
  const changelist = ctx.changelist(gun);
  if (flags.bool('all')) await changelist.clear();
  else await changelist.remove(numbers);
  ctx.out(`Successfully reset specified changes for repository ${gun}\n`);
  return { gun };
}

export async function deleteCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  need(args, 1, 'Must specify a GUN', 'delete');
  const gun = args[0]!;
  const remote = flags.bool('remote');
  ctx.out(`Deleting trust data for repository ${gun}\n`);
  const session = ctx.session(gun, '*');
  try {
    await session.repo.cache.clear();
    if (remote) await session.repo.remote.deleteRemote();
  } finally {
    session.close();
  }
  ctx.out(
    remote
      ? `Successfully deleted local and remote trust data for repository ${gun}\n`
      : `Successfully deleted local trust data for repository ${gun}\n`,
  );
  return { gun };
}

export function errnoText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}
