/**
 * `bin/trustlab`: the admin command.
 *
 *   trustlab user add NAME --password-stdin   create a hub account
 *   trustlab hub                              run the hub alone
 */
import { parseArgs } from 'node:util';
import { userAdd } from '../hub/src/cli/user-add.js';
import { launchHub } from './launch-hub.js';
import { readSettings } from './settings.js';

const USAGE = `Usage:
  trustlab user add NAME --password-stdin   create a hub account (password read from stdin)
  trustlab hub                              run the hub alone

Environment: TRUSTLAB_DATA_DIR (default ./data), TRUSTLAB_HUB_PORT (default 4443),
TRUSTLAB_HUB_HOST (default 127.0.0.1), TRUSTLAB_HUB_HOSTNAMES (extra certificate names, comma-separated).`;

async function runHub(): Promise<void> {
  const settings = readSettings();
  const { hub, url } = await launchHub(settings);
  console.log(`TrustLab hub: ${url}`);
  console.log(`  data:   ${settings.dataDir}`);
  console.log(`  CA:     ${hub.caCertificatePath ?? '(no TLS)'}`);
}

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === 'hub') {
    await runHub();
    return -1;
  }
  if (command === 'user' && sub === 'add') {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { 'password-stdin': { type: 'boolean', default: false } },
      allowPositionals: true,
    });
    const name = positionals[0];
    if (!name || positionals.length > 1 || !values['password-stdin']) {
      console.error('Usage: trustlab user add NAME --password-stdin');
      return 2;
    }
    await userAdd(readSettings().dataDir, name, process.stdin);
    console.log(`Created hub account ${name}`);
    return 0;
  }
  console.error(USAGE);
  return command === 'help' || command === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(`trustlab: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
