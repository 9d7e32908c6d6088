/**
 * `notary list <gun>` done by trust-core in a fresh process, so the benchmark can time it like the
 * real CLI: process start (node + tsx), read the CA, fetch and verify root, timestamp, snapshot and
 * targets from the trust server into the given (normally empty) trust dir, and list the targets.
 * Like notary it writes the verified metadata into <trustDir>/tuf/<gun>/metadata. It prints the
 * target rows' count (not the rows: printing 10,000 lines is not what is being compared, and
 * notary's own printing is cheap next to its verification) and its own peak RSS as JSON.
 *
 * Usage: node --import tsx bench/trust-core-list.ts <server-url> <ca-cert-path> <gun> <trust-dir>
 */
import { openRepository, passphrasesFromEnv, readCaPem } from './support.js';

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
  console.log(JSON.stringify({ ok: true, count, maxRssKiB: process.resourceUsage().maxRSS }));
} finally {
  repo.close();
}
