/**
 * `notary add <gun> <name> <file> -p` done by trust-core in a fresh process, so the benchmark can
 * time it like the real CLI: process start (node + the bundle, built by the benchmark with esbuild), hash the file (sha256 + sha512, as notary
 * does), update from the server through the warm cache in <trustDir>, decrypt the targets and
 * snapshot keys from <trustDir>/private with the NOTARY_*_PASSPHRASE variables (the same ones
 * real notary reads), sign targets and snapshot, and publish. Prints its peak RSS and
 * the split between start-up (node + module loading) and work as JSON.
 *
 * Usage: node <bundle of bench/trust-core-add.ts> (or node --import tsx bench/trust-core-add.ts) <server-url> <ca-cert-path> <gun> <trust-dir> <name> <file>
 */
import { readFile } from 'node:fs/promises';

import { FileMeta } from '../trust-core/src/models/file-meta.js';
import { openRepository, passphrasesFromEnv, readCaPem } from './support.js';

// Time since the process started until our code runs: node, tsx and loading trust-core's modules.
const startupMs = performance.now();
const [server, caCertPath, gun, trustDir, name, file] = process.argv.slice(2);
if (!server || !caCertPath || !gun || !trustDir || !name || !file) {
  console.error('usage: trust-core-add.ts <server-url> <ca-cert-path> <gun> <trust-dir> <name> <file>');
  process.exit(2);
}

const repo = openRepository({
  server,
  caPem: await readCaPem(caCertPath),
  gun,
  trustDir,
  passphrases: passphrasesFromEnv(),
});
try {
  const meta = FileMeta.forBytes(new Uint8Array(await readFile(file)));
  const editor = await repo.edit();
  editor.addTarget(name, meta);
  const files = await repo.publish(editor);
  if (files.size === 0) throw new Error('nothing was published');
  const sections = { startupMs, workMs: performance.now() - startupMs };
  console.log(JSON.stringify({ ok: true, maxRssKiB: process.resourceUsage().maxRSS, sections }));
} finally {
  repo.close();
}
