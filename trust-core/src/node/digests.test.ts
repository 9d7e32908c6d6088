import { describe, expect, it } from 'vitest';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { nodeDigests } from './digests.js';

describe('native digests', () => {
  it('agree with the portable implementation', () => {
    for (const size of [0, 1, 55, 56, 64, 1000, 1 << 20]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
      expect(nodeDigests.sha256(bytes)).toEqual(nobleSha256(bytes));
      expect(nodeDigests.sha512(bytes)).toEqual(nobleSha512(bytes));
    }
  });
});
