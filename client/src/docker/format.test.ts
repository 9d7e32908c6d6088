import { describe, expect, it } from 'vitest';
import { createdSince, formatG, humanDuration, humanSize, imagesTable } from './format.js';

describe('docker formatting', () => {
  it.each([
    [0, '0B'],
    [523, '523B'],
    [999, '999B'],
    [1000, '1kB'],
    [1234, '1.23kB'],
    [12_345, '12.3kB'],
    [4_261_550, '4.26MB'],
    [7_800_000, '7.8MB'],
    [1_500_000_000, '1.5GB'],
  ])('humanSize(%d) = %s', (bytes, text) => {
    expect(humanSize(bytes)).toBe(text);
  });

  it('formats %g like Go', () => {
    expect(formatG(999.9, 3)).toBe('1e+03');
    expect(formatG(4.2, 3)).toBe('4.2');
  });

  it.each([
    [500, 'Less than a second'],
    [1000, '1 second'],
    [45_000, '45 seconds'],
    [60_000, 'About a minute'],
    [10 * 60_000, '10 minutes'],
    [60 * 60_000, 'About an hour'],
    [5 * 3_600_000, '5 hours'],
    [3 * 86_400_000, '3 days'],
    [20 * 86_400_000, '2 weeks'],
    [90 * 86_400_000, '3 months'],
    [800 * 86_400_000, '2 years'],
  ])('humanDuration(%d) = %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('says N/A for an unknown creation time', () => {
    expect(createdSince(undefined)).toBe('N/A');
    expect(createdSince('2020-01-01T00:00:00Z', new Date('2023-01-02T00:00:00Z'))).toBe('3 years ago');
  });

  it('prints the images table as docker does', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const text = imagesTable(
      [
        {
          repository: 'alice/dctrust',
          tag: 'latest',
          id: `sha256:${'6fd955f66c23'.padEnd(64, '0')}`,
          created: '2023-01-01T00:00:00Z',
          size: 4_261_550,
        },
        {
          repository: 'busybox',
          tag: 'latest',
          id: `sha256:${'a'.repeat(64)}`,
          created: undefined,
          size: 900,
        },
      ],
      { now },
    );
    expect(text).toBe(
      'REPOSITORY      TAG       IMAGE ID       CREATED       SIZE\n' +
        'alice/dctrust   latest    6fd955f66c23   2 years ago   4.26MB\n' +
        'busybox         latest    aaaaaaaaaaaa   N/A           900B\n',
    );
  });
});
