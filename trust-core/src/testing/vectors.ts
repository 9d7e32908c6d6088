/**
 * Access to the notary test vectors (real output of notary 0.7.0,
 * notary-server and docker 28.2.2) kept under tests/vectors/notary/.
 * Test-only: it reads files with Node.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VECTORS_DIR = fileURLToPath(new URL('../../../tests/vectors/notary/', import.meta.url));

export function readVector(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS_DIR, path)));
}

export type VectorType = 'Root' | 'Targets' | 'Snapshot' | 'Timestamp';

export interface MetadataVector {
  path: string;
  type: VectorType;
  /** Role the file is for (delegation files: `targets/<name>`). */
  role: string;
  bytes: Uint8Array;
}

function roleOf(file: string): { type: VectorType; role: string } | undefined {
  const base = file
    .replace(/^after-sign-/, '')
    .replace(/\.json$/, '')
    .replace(/\.[0-9a-f]{64}$/, '')
    .replace(/^\d+\./, '');
  if (base === 'root' || base === 'root_rotated_v2') return { type: 'Root', role: 'root' };
  if (base === 'snapshot') return { type: 'Snapshot', role: 'snapshot' };
  if (base === 'timestamp') return { type: 'Timestamp', role: 'timestamp' };
  if (base === 'targets' || base === 'targets_escaping') return { type: 'Targets', role: 'targets' };
  const delegated = /^targets_([a-z]+)$/.exec(base);
  if (delegated) return { type: 'Targets', role: `targets/${delegated[1]}` };
  return undefined;
}

/** Every metadata JSON file among the vectors, with its type and role. */
export function metadataVectors(): MetadataVector[] {
  const out: MetadataVector[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) {
        if (name !== 'http') walk(full);
        continue;
      }
      if (!name.endsWith('.json') || name.includes('404')) continue;
      const kind = roleOf(name);
      if (!kind) continue;
      out.push({ path: relative(VECTORS_DIR, full), ...kind, bytes: new Uint8Array(readFileSync(full)) });
    }
  };
  walk(VECTORS_DIR);
  return out;
}

/** The time the vectors were made: every file in them is current then. */
export const VECTORS_TIME = new Date('2026-11-26T12:50:00Z');
