/**
 * Output formatting as docker does it:
 *
 * - sizes: go-units HumanSizeWithPrecision(size, 3), decimal units
 *   (`4.26MB`, `12.3kB`, `523B`), Go's `%.3g`;
 * - ages: go-units HumanDuration + " ago" (`About an hour ago`, `2 years ago`);
 * - tables: text/tabwriter with minwidth 10, padding 3, as docker's
 *   formatter.NewContext sets it up; the last column is not padded.
 */

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** Go's `%.<precision>g`. */
export function formatG(value: number, precision: number): string {
  if (value === 0) return '0';
  let text = value.toPrecision(precision);
  // toPrecision may round up into the next power of ten; Go decides on the rounded value too.
  if (text.includes('e')) {
    const [mantissa, exp] = text.split('e') as [string, string];
    const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const n = Number(exp);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text;
}

/** go-units HumanSizeWithPrecision(size, 3). */
export function humanSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${formatG(size, 3)}${DECIMAL_UNITS[unit]}`;
}

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** docker's CREATED column: "<duration> ago", or N/A when unknown. */
export function createdSince(created: string | undefined, now: Date = new Date()): string {
  if (!created) return 'N/A';
  const time = Date.parse(created);
  if (Number.isNaN(time) || time <= 0) return 'N/A';
  return `${humanDuration(Math.max(0, now.getTime() - time))} ago`;
}

/** text/tabwriter(minwidth 10, tabwidth 1, padding 3, ' '): every column but the last padded. */
export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const columns = Math.max(...rows.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < columns - 1; c++) {
    const widest = Math.max(...rows.map((r) => [...(r[c] ?? '')].length));
    widths.push(Math.max(widest + 3, 10));
  }
  return rows
    .map((row) =>
      row
        .map((cell, c) => (c < columns - 1 ? cell + ' '.repeat(widths[c]! - [...cell].length) : cell))
        .join('')
        .replace(/\s+$/, ''),
    )
    .map((line) => `${line}\n`)
    .join('');
}

export interface ImageRow {
  repository: string;
  tag: string;
  id: string;
  created: string | undefined;
  size: number;
  digest?: string | undefined;
}

/** `docker images`: REPOSITORY TAG IMAGE ID CREATED SIZE (plus DIGEST with --digests). */
export function imagesTable(
  rows: readonly ImageRow[],
  options: { now?: Date; digests?: boolean; noTrunc?: boolean } = {},
): string {
  const header = options.digests
    ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE']
    : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  const body = rows.map((row) => {
    const id = options.noTrunc ? row.id : row.id.replace(/^sha256:/, '').slice(0, 12);
    const cells = [row.repository, row.tag];
    if (options.digests) cells.push(row.digest ?? '<none>');
    cells.push(id, createdSince(row.created, options.now), humanSize(row.size));
    return cells;
  });
  return table([header, ...body]);
}
