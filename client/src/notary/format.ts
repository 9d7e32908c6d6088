/**
 * notary's tables: Go's text/tabwriter with padding 4 (cmd/notary/prettyprint.go).
 * Every column but the last is padded to its widest cell plus four spaces;
 * the header is underlined with dashes of the header's length. Also notary's
 * left truncation of long GUNs (25 characters: `...` + the last 22) and
 * locations (40 characters) in `key list`.
 */
const PADDING = 4;

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, headers.map((h) => '-'.repeat(h.length)), ...rows];
  const widths = headers.map((_, col) => Math.max(...all.map((row) => [...(row[col] ?? '')].length)));
  return all
    .map((row) =>
      row
        .map((cell, col) =>
          col === row.length - 1 ? cell : cell + ' '.repeat(widths[col]! - [...cell].length + PADDING),
        )
        .join(''),
    )
    .map((line) => line + '\n')
    .join('');
}

export const MAX_GUN_WIDTH = 25;
export const MAX_LOCATION_WIDTH = 40;

/** notary's truncateWithEllipsis(text, width, leftTruncate=true): `...` and the last width-3 characters. */
export function truncateLeft(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return '...' + chars.slice(chars.length - (width - 3)).join('');
}

export function truncateGun(gun: string): string {
  return truncateLeft(gun, MAX_GUN_WIDTH);
}

/** `key list` also shortens the LOCATION column (seen with a 45-character trust directory path). */
export function truncateLocation(location: string): string {
  return truncateLeft(location, MAX_LOCATION_WIDTH);
}

/** How notary shows a delegation path: `""` means every path. */
export function prettyPath(path: string): string {
  return path === '' ? '"" <all paths>' : path;
}
