/**
 * Bundles the client commands with esbuild so they start fast (no tsx at
 * run time): `client/src/docker/main.ts` → `dist/client/docker.mjs`,
 * `client/src/notary/main.ts` → `dist/client/notary.mjs`. Run at install
 * time (`npm run build:client`), by `bin/docker` and `bin/notary` when their
 * bundle is missing or older than any client or trust-core source (so a
 * developer's edit takes effect on the next run), or by hand:
 * `node --import tsx client/build.ts [docker|notary]`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const ENTRIES: Record<string, string> = {
  docker: 'client/src/docker/main.ts',
  notary: 'client/src/notary/main.ts',
};

export async function bundle(name: string): Promise<string> {
  const entry = ENTRIES[name];
  if (!entry) throw new Error(`unknown client entry ${name}`);
  const outdir = path.join(root, 'dist', 'client');
  const outfile = path.join(outdir, `${name}.mjs`);
  await build({
    entryPoints: { [name]: path.join(root, entry) },
    outdir,
    outExtension: { '.js': '.mjs' },
    // Commands are dynamic imports in main.ts; splitting keeps them out of the startup path.
    splitting: true,
    chunkNames: `chunks/${name}-[name]-[hash]`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    // Native and CommonJS-only packages stay external; none is needed by the docker command.
    external: ['better-sqlite3', 'node-pty'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outfile;
}

const invoked = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) {
  const names = process.argv.slice(2);
  for (const name of names.length > 0 ? names : Object.keys(ENTRIES)) await bundle(name);
}
