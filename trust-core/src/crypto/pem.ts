/**
 * PEM reading and writing that behaves like Go's encoding/pem, which notary
 * uses for key files, public key files and certificates.
 *
 * What matters for byte-exact output (Go `pem.Encode`):
 * - headers are written `key: value`, `Proc-Type` first and the rest sorted
 *   by key (so `gun:` comes before `role:` in notary key files);
 * - a blank line separates headers from the body, only when there are headers;
 * - the body is standard base64 with padding in 64-character lines;
 * - the END line is followed by a newline.
 * Reading is as tolerant as Go's `pem.Decode`: text around blocks is skipped,
 * header keys and values are trimmed, CR LF line ends are accepted.
 */
import { fromBase64, toBase64 } from '../encoding/bytes.js';

export interface PemBlock {
  type: string;
  /** Headers in file order (encodePem sorts them as Go does). */
  headers: Record<string, string>;
  bytes: Uint8Array;
}

/** Thrown for text that is not PEM; callers wrap it in their own typed error. */
export class PemError extends Error {}

export function encodePem(block: PemBlock): string {
  let out = `-----BEGIN ${block.type}-----\n`;
  const keys = Object.keys(block.headers);
  if (keys.length > 0) {
    // Go's pem.Encode: Proc-Type first, then the other headers in sorted order.
    const ordered = keys.filter((k) => k !== 'Proc-Type').sort();
    if (keys.includes('Proc-Type')) ordered.unshift('Proc-Type');
    for (const key of ordered) {
      const value = block.headers[key]!;
      if (key.includes(':') || /[\r\n]/.test(key + value)) throw new PemError(`bad PEM header ${key}`);
      out += `${key}: ${value}\n`;
    }
    out += '\n';
  }
  const b64 = toBase64(block.bytes);
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  out += `-----END ${block.type}-----\n`;
  return out;
}

/** Decode every PEM block in `text`, in order. Malformed blocks throw PemError. */
export function decodePemBlocks(text: string): PemBlock[] {
  const lines = text.split('\n').map((l) => l.replace(/[ \t\r]+$/, ''));
  const blocks: PemBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const begin = /^-----BEGIN (.*)-----$/.exec(lines[i]!);
    i++;
    if (!begin) continue;
    const type = begin[1]!;
    const headers: Record<string, string> = {};
    // Header lines are every leading `key: value` line (Go stops at the first line without a colon).
    while (i < lines.length) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon < 0 || line.startsWith('-----END ')) break;
      headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      i++;
    }
    let body = '';
    let ended = false;
    for (; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.startsWith('-----END ')) {
        if (line !== `-----END ${type}-----`)
          throw new PemError(`PEM block ${type} has a mismatched END line`);
        ended = true;
        i++;
        break;
      }
      body += line.replace(/[ \t]/g, '');
    }
    if (!ended) throw new PemError(`PEM block ${type} has no END line`);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(body);
    } catch (cause) {
      throw new PemError(`PEM block ${type} has a corrupted base64 body`, { cause });
    }
    blocks.push({ type, headers, bytes });
  }
  return blocks;
}

/** The first PEM block, or a PemError when there is none. */
export function decodePem(text: string): PemBlock {
  const first = decodePemBlocks(text)[0];
  if (!first) throw new PemError('no PEM block found');
  return first;
}
