/**
 * `notary list <gun>` done by trust-core in a fresh process, so the benchmark can time it like the
 * real CLI: process start (node + the bundle, built by the benchmark with esbuild), read the CA, fetch and verify root, timestamp, snapshot and
 * targets from the trust server into the given (normally empty) trust dir, and list the targets.
 * Like notary it writes the verified metadata into <trustDir>/tuf/<gun>/metadata. It prints the
 * target rows' count (not the rows: printing 10,000 lines is not what is being compared, and
 * notary's own printing is cheap next to its verification) its own peak RSS and the split between start-up (node + module loading) and work as JSON.
 *
 * Usage: node <bundle of bench/trust-core-list.ts> (or node --import tsx bench/trust-core-list.ts) <server-url> <ca-cert-path> <gun> <trust-dir>
 */
import { openRepository, passphrasesFromEnv, readCaPem } from './support.js';

// Time since the process started until our code runs: node, tsx and loading trust-core's modules.
const startupMs = performance.now();
const [server, caCertPath, gun, trustDir] = process.argv.slice(2);
if (!server || !caCertPath || !gun || !trustDir) {
  console.error('usage: trust-core-list.ts <server-url> <ca-cert-path> <gun> <trust-dir>');
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
  const verified = await repo.update();
  const count = verified.listTargets().length;
  const sections = { startupMs, workMs: performance.now() - startupMs };
  console.log(JSON.stringify({ ok: true, count, maxRssKiB: process.resourceUsage().maxRSS, sections }));
} finally {
  repo.close();
}
