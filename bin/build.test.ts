import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clientBundleStale } from './build.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A project with one source file and a bundle built from it at `builtAt` (seconds since the epoch). */
function project(builtAt: number, sourceAt: number): string {
  const root = mkdtempSync(path.join(tmpdir(), 'trustlab-build-'));
  roots.push(root);
  mkdirSync(path.join(root, 'dist', 'client'), { recursive: true });
  mkdirSync(path.join(root, 'client'));
  writeFileSync(path.join(root, 'client', 'main.ts'), '');
  utimesSync(path.join(root, 'client', 'main.ts'), sourceAt, sourceAt);
  writeFileSync(path.join(root, 'dist', 'client', 'docker.cjs'), '');
  // As client/build.ts writes it: a comment with apostrophes, then one quoted path per line.
  const inputs = path.join(root, 'dist', 'client', 'docker.inputs');
  writeFileSync(inputs, "# for bin/docker's check (it's sourced)\nset -- \\\n  'client/main.ts' \\\n  \n");
  utimesSync(inputs, builtAt, builtAt);
  return root;
}

describe('clientBundleStale', () => {
  it('finds a bundle built after its sources fresh, whatever its comment says', () => {
    expect(clientBundleStale('docker', project(2_000_000, 1_000_000))).toBe(false);
  });

  it('finds it stale when a source is newer, or missing, or the bundle is missing', () => {
    expect(clientBundleStale('docker', project(1_000_000, 2_000_000))).toBe(true);
    const root = project(2_000_000, 1_000_000);
    rmSync(path.join(root, 'client', 'main.ts'));
    expect(clientBundleStale('docker', root)).toBe(true);
    expect(clientBundleStale('notary', root)).toBe(true);
  });
});
