/**
 * notary's delegation commands (cmd/notary/delegations.go in notary 0.7):
 * add and remove stage changes in the changelist (`-p` publishes them);
 * list reads the verified remote state. Delegation keys are X509
 * certificates, stored in metadata as `ecdsa-x509`/`rsa-x509` keys whose
 * public part is the certificate's PEM.
 */
import { readFile } from 'node:fs/promises';
import type { DelegatedRole, PemBlock } from '../../../../trust-core/src/index.js';
import { decodePemBlocks, encodePem, parseCertificate, PublicKey } from '../../../../trust-core/src/index.js';
import { PromptAborted } from '../../cli/terminal.js';
import type { ParsedFlags } from '../args.js';
import { delegationData } from '../changelist.js';
import { NotaryCliError } from '../errors.js';
import { formatTable, prettyPath } from '../format.js';
import type { NotaryContext } from '../session.js';
import type { CommandResult } from './repo.js';
import { errnoText, publishStaged } from './repo.js';

/** A delegation key from a PEM certificate file, as notary's `delegation add` reads it. */
async function certificateKey(file: string): Promise<PublicKey> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    throw new NotaryCliError(`unable to read specified cert file: open ${file}: ${errnoText(error)}`);
  }
  let blocks: PemBlock[] = [];
  try {
    blocks = decodePemBlocks(pem);
  } catch {
    // reported below
  }
  const block = blocks[0];
  // notary also takes a bare public key (`notary key generate -o` writes one).
  if (block?.type === 'PUBLIC KEY') return new PublicKey('ecdsa', block.bytes);
  let cert;
  try {
    cert = parseCertificate(pem);
  } catch {
    throw new NotaryCliError(`unable to parse valid cert for file: ${file}`);
  }
  const keytype = cert.publicKeyType === 'rsa' ? 'rsa-x509' : 'ecdsa-x509';
  // notary re-encodes the certificate (utils.CertToPEM), so the key ID does not depend on the file's layout.
  const canonicalPem = encodePem({ type: 'CERTIFICATE', headers: {}, bytes: cert.der });
  return new PublicKey(keytype, new TextEncoder().encode(canonicalPem));
}

function pathsText(paths: readonly string[]): string {
  return paths.map(prettyPath).join('\n');
}

export async function delegationAddCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  const allPaths = flags.bool('all-paths');
  const paths = allPaths ? [''] : flags.strings('paths');
  if (args.length < 2 || (args.length < 3 && paths.length === 0)) {
    throw new NotaryCliError(
      'must specify the Global Unique Name and the role of the delegation along with the public key certificate paths and/or a list of paths to add',
      { usage: 'delegation add' },
    );
  }
  if (allPaths && flags.strings('paths').length > 0) {
    throw new NotaryCliError('Please only use one of --all-paths or --paths');
  }
  const [gun, role, ...certFiles] = args as [string, string, ...string[]];
  const keys: PublicKey[] = [];
  for (const file of certFiles) keys.push(await certificateKey(file));
  const changelist = ctx.changelist(gun);
  if (keys.length > 0) {
    await changelist.add({
      action: 'create',
      role,
      type: 'delegation',
      path: '',
      data: delegationData({ threshold: 1, addKeys: keys }),
    });
  }
  if (paths.length > 0) {
    await changelist.add({
      action: 'create',
      role,
      type: 'delegation',
      path: '',
      data: delegationData({ addPaths: paths }),
    });
  }
  const keyPart = keys.length > 0 ? ` with keys [${keys.map((k) => k.canonicalId()).join(' ')}],` : '';
  const pathPart = paths.length > 0 ? ` with paths [${pathsText(paths)}],` : '';
  ctx.out(
    `\nAddition of delegation role ${role}${keyPart}${pathPart} to repository "${gun}" staged for next publish.\n\n`,
  );
  if (flags.bool('publish')) await publishStaged(ctx, gun, true);
  return { gun, role };
}

export async function delegationRemoveCommand(
  ctx: NotaryContext,
  args: string[],
  flags: ParsedFlags,
): Promise<CommandResult> {
  if (args.length < 2) {
    throw new NotaryCliError(
      'must specify the Global Unique Name and the role of the delegation along with optional keyIDs and/or a list of paths to remove',
      { usage: 'delegation remove' },
    );
  }
  const [gun, role, ...keyIds] = args as [string, string, ...string[]];
  const allPaths = flags.bool('all-paths');
  const paths = flags.strings('paths');
  const changelist = ctx.changelist(gun);
  if (keyIds.length === 0 && paths.length === 0 && !allPaths) {
    ctx.out('\nAre you sure you want to remove all data for this delegation? (yes/no)\n');
    let sure = flags.bool('yes');
    if (sure) ctx.out('Confirmed `yes` from flag\n');
    else {
      try {
        sure = ['y', 'yes'].includes((await ctx.terminal.ask('')).trim().toLowerCase());
      } catch (error) {
        if (!(error instanceof PromptAborted)) throw error;
      }
    }
    if (!sure) {
      ctx.out('\nAborting action.\n\n');
      return { gun, role };
    }
    await changelist.add({ action: 'delete', role, type: 'delegation', path: '', data: null });
    ctx.out(
      `\nForced removal (including all keys and paths) of delegation role ${role} to repository "${gun}" staged for next publish.\n\n`,
    );
  } else {
    if (keyIds.length > 0) {
      await changelist.add({
        action: 'update',
        role,
        type: 'delegation',
        path: '',
        data: delegationData({ removeKeys: keyIds }),
      });
    }
    if (allPaths) {
      await changelist.add({
        action: 'update',
        role,
        type: 'delegation',
        path: '',
        data: delegationData({ clearPaths: true }),
      });
    } else if (paths.length > 0) {
      await changelist.add({
        action: 'update',
        role,
        type: 'delegation',
        path: '',
        data: delegationData({ removePaths: paths }),
      });
    }
    const keyPart = keyIds.length > 0 ? ` with keys [${keyIds.join(' ')}],` : '';
    const pathPart = allPaths
      ? ' with all paths,'
      : paths.length > 0
        ? ` with paths [${pathsText(paths)}],`
        : '';
    ctx.out(
      `\nRemoval of delegation role ${role}${keyPart}${pathPart} to repository "${gun}" staged for next publish.\n\n`,
    );
  }
  if (flags.bool('publish')) await publishStaged(ctx, gun, true);
  return { gun, role };
}

export async function delegationListCommand(ctx: NotaryContext, args: string[]): Promise<CommandResult> {
  if (args.length < 1) {
    throw new NotaryCliError('Please provide a Global Unique Name as an argument to list', {
      usage: 'delegation list',
    });
  }
  const gun = args[0]!;
  const session = ctx.session(gun, 'pull');
  try {
    const trusted = await session.update();
    const delegations: Array<{ role: DelegatedRole; keys: Record<string, PublicKey> }> = [];
    for (const role of trusted.roles()) {
      const parent = trusted.role(role)?.signed.delegations;
      for (const d of parent?.roles ?? []) delegations.push({ role: d, keys: parent!.keys });
    }
    if (delegations.length === 0) {
      ctx.out('\n\nNo delegations present in this repository.\n\n\n');
      return { gun };
    }
    delegations.sort((a, b) => (a.role.name < b.role.name ? -1 : a.role.name > b.role.name ? 1 : 0));
    const rows: string[][] = [];
    for (const { role: d, keys } of delegations) {
      // notary shows the canonical key IDs (a certificate's public key ID, as `key list` does).
      const ids = d.keyids.map((id) => keys[id]?.canonicalId() ?? id);
      // One line per path and key: the first carries the role and threshold (notary's prettyPrintRoles).
      const lines = Math.max(d.paths.length, ids.length, 1);
      for (let i = 0; i < lines; i++) {
        rows.push([
          i === 0 ? d.name : '',
          d.paths[i] === undefined ? '' : prettyPath(d.paths[i]!),
          ids[i] ?? '',
          i === 0 ? String(d.threshold) : '',
        ]);
      }
    }
    ctx.out('\n' + formatTable(['ROLE', 'PATHS', 'KEY IDS', 'THRESHOLD'], rows) + '\n');
    return { gun };
  } finally {
    session.close();
  }
}
