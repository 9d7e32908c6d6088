import { describe, expect, it } from 'vitest';
import { formatTable, prettyPath, truncateGun, truncateLocation } from './format.js';

describe('notary tables', () => {
  it('pads every column but the last by four spaces past its widest cell (key list, as notary 0.7 prints it)', () => {
    const id = 'a'.repeat(64);
    expect(
      formatTable(
        ['ROLE', 'GUN', 'KEY ID', 'LOCATION'],
        [
          ['root', '', id, '/t/private'],
          ['targets', 'example.com/a/b', id, '/t/private'],
        ],
      ),
    ).toBe(
      'ROLE       GUN                KEY ID' +
        ' '.repeat(62) +
        'LOCATION\n' +
        '----       ---                ------' +
        ' '.repeat(62) +
        '--------\n' +
        `root                          ${id}    /t/private\n` +
        `targets    example.com/a/b    ${id}    /t/private\n`,
    );
  });

  it('keeps the padding of empty cells, as tabwriter does (status of a delegation change)', () => {
    const out = formatTable(['#', 'PATH'], [['0', '']]);
    expect(out).toBe('#    PATH\n-    ----\n0    \n');
  });

  it('truncates long GUNs from the left to 25 characters', () => {
    expect(truncateGun('localhost:14451/some/very/long/repository/name')).toBe('...y/long/repository/name');
    expect(truncateGun('example.com/a/b')).toBe('example.com/a/b');
    expect(truncateGun('x'.repeat(25))).toBe('x'.repeat(25));
    expect(truncateLocation('/tmp/trustlab-notary-cli-O4wbUf/trust/private')).toBe(
      '...stlab-notary-cli-O4wbUf/trust/private',
    );
  });

  it('shows the empty path as all paths', () => {
    expect(prettyPath('')).toBe('"" <all paths>');
    expect(prettyPath('a/b')).toBe('a/b');
  });
});
