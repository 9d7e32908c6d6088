/**
 * `notary key list`, apart from the other key commands so that it loads only
 * the key store, the token socket and the table formatting (it runs on a
 * KeyContext, without a repository session; see ../context.ts).
 *
 * Keys on the attendee's YubiKey are listed with LOCATION `yubikey`, and
 * the backup of such a key in the file store too, with its directory.
 * Rows are sorted as notary's keyInfoSorter does (cmd/notary/prettyprint.go):
 * root keys first, then GUN, role, key ID and the whole location, so a
 * backup (a path, "/…") comes before its `yubikey` row.
 */
import path from 'node:path';
import { listToken, YUBIKEY_LOCATION } from '../../token/socket.js';
import type { KeyContext } from '../context.js';
import { formatTable, truncateGun, truncateLocation } from '../format.js';
import type { CommandResult } from './repo.js';

interface Row {
  role: string;
  gun: string;
  id: string;
  location: string;
  onToken: boolean;
}

export async function keyListCommand(ctx: KeyContext): Promise<CommandResult> {
  const [files, token] = await Promise.all([ctx.keys.list(), listToken(ctx.env.TRUSTLAB_TOKEN)]);
  if ('unavailable' in token)
    ctx.debug(`No yubikey found, using alternative key storage: ${token.unavailable}`);
  const rows: Row[] = [
    ...('keys' in token
      ? token.keys.map((k) => ({
          role: 'root',
          gun: '',
          id: k.keyId,
          location: YUBIKEY_LOCATION,
          onToken: true,
        }))
      : []),
    ...files.map((k) => ({
      role: k.role,
      gun: k.gun ?? '',
      id: k.id,
      location: path.dirname(k.path),
      onToken: false,
    })),
  ];
  const onToken = rows.some((r) => r.onToken);
  if (rows.length === 0) {
    ctx.out('\nNo signing keys found.\n\n');
    return {};
  }
  // notary's keyInfoSorter: root keys first, then GUN, role, key ID and the untruncated location.
  const sorted = [...rows].sort((a, b) => {
    const rank = (r: string) => (r === 'root' ? 0 : 1);
    return (
      rank(a.role) - rank(b.role) ||
      cmp(a.gun, b.gun) ||
      cmp(a.role, b.role) ||
      cmp(a.id, b.id) ||
      cmp(a.location, b.location)
    );
  });
  ctx.out(
    '\n' +
      formatTable(
        ['ROLE', 'GUN', 'KEY ID', 'LOCATION'],
        sorted.map((k) => [k.role, truncateGun(k.gun), k.id, truncateLocation(k.location)]),
      ) +
      '\n',
  );
  // The event says the listing showed keys on the token; the lab checks the token's own answer.
  return onToken ? { outcome: 'LISTED_YUBIKEY' } : {};
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
