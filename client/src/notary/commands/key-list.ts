/**
 * `notary key list`, apart from the other key commands so that it loads only
 * the key store and the table formatting (it runs on a KeyContext, without a
 * repository session; see ../context.ts).
 */
import path from 'node:path';
import type { KeyContext } from '../context.js';
import { formatTable, truncateGun, truncateLocation } from '../format.js';
import type { CommandResult } from './repo.js';

export async function keyListCommand(ctx: KeyContext): Promise<CommandResult> {
  const keys = await ctx.keys.list();
  if (keys.length === 0) {
    ctx.out('\nNo signing keys found.\n\n');
    return {};
  }
  // notary sorts root keys first, then by GUN, role and key ID.
  const sorted = [...keys].sort((a, b) => {
    const rank = (r: string) => (r === 'root' ? 0 : 1);
    return (
      rank(a.role) - rank(b.role) || cmp(a.gun ?? '', b.gun ?? '') || cmp(a.role, b.role) || cmp(a.id, b.id)
    );
  });
  ctx.out(
    '\n' +
      formatTable(
        ['ROLE', 'GUN', 'KEY ID', 'LOCATION'],
        sorted.map((k) => [k.role, truncateGun(k.gun ?? ''), k.id, truncateLocation(path.dirname(k.path))]),
      ) +
      '\n',
  );
  return {};
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
