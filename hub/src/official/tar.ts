/**
 * A deterministic tar+gzip writer for the official images' layers: POSIX
 * ustar headers (the format docker's archive package reads), fixed mtime,
 * uid/gid 0, names in the order given, two zero blocks at the end; gzip with
 * a zero header mtime (node:zlib writes none) at a fixed level. The same
 * entries always give the same bytes, so the layers' digests are stable.
 */
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  /** Path inside the image, without a leading slash; directories end with `/`. */
  path: string;
  /** File content; omitted for directories. */
  content?: string | Uint8Array;
  mode?: number;
}

/** 2024-01-01T00:00:00Z: every entry's mtime. */
export const LAYER_MTIME = 1_704_067_200;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(path: string, size: number, mode: number, type: '0' | '5'): Buffer {
  const block = Buffer.alloc(512);
  if (Buffer.byteLength(path) > 100) throw new Error(`tar path too long: ${path}`);
  block.write(path, 0, 100, 'utf8');
  block.write(octal(mode, 8), 100, 8, 'ascii');
  block.write(octal(0, 8), 108, 8, 'ascii'); // uid
  block.write(octal(0, 8), 116, 8, 'ascii'); // gid
  block.write(octal(size, 12), 124, 12, 'ascii');
  block.write(octal(LAYER_MTIME, 12), 136, 12, 'ascii');
  block.write('        ', 148, 8, 'ascii'); // checksum placeholder
  block.write(type, 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/** The uncompressed tar (its sha256 is the layer's diff_id). */
export function buildTar(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    if (entry.path.endsWith('/')) {
      blocks.push(header(entry.path, 0, entry.mode ?? 0o755, '5'));
      continue;
    }
    const content = Buffer.from(entry.content ?? '');
    blocks.push(header(entry.path, content.length, entry.mode ?? 0o644, '0'));
    blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** gzip with fixed settings (level 9, no file name, header mtime 0). */
export function gzipLayer(tar: Uint8Array): Buffer {
  return gzipSync(tar, { level: 9 });
}
