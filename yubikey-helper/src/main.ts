/**
 * `npm run yubikey-helper -- --server <lab> --code <code>` (or
 * `bin/yubikey-helper …`): run where the YubiKey is plugged in. It loads
 * the PKCS#11 module (notary's libykcs11 paths, then OpenSC's, or
 * `--module`), opens the token, pairs with the learner's lab session, and
 * carries out the root-key requests of their terminal until the pairing
 * ends or Ctrl-C. PINs are asked here, on this terminal.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HelperClient, HelperClientError } from './helper-client.js';
import { terminalPinSource } from './pin-prompt.js';
import { normalisePairingCode } from './protocol.js';
import { findModule, openToken, TokenError, type RootKeyToken } from './token/index.js';

const USAGE = `Usage: yubikey-helper --server URL --code CODE [--module PATH] [--ca FILE]

Pairs the YubiKey plugged into this computer with your TrustLab terminal, so
that notary and docker there keep your root key on it. The lab page shows the
command to run, with your server and pairing code.

  --server URL    the lab's address, as in your browser (http://localhost:3000)
  --code CODE     the pairing code shown on the lab page (single use, 10 minutes)
  --module PATH   the PKCS#11 module to load (default: where notary looks for
                  libykcs11, then OpenSC's opensc-pkcs11)
  --ca FILE       a CA certificate to trust for an https lab server
`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' },
        code: { type: 'string' },
        module: { type: 'string' },
        ca: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`yubikey-helper: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.server || !values.code) {
    process.stderr.write(`yubikey-helper: --server and --code are required\n\n${USAGE}`);
    return 2;
  }
  // Checked before the module is loaded and the token opened: a mistyped code is told at once.
  const code = normalisePairingCode(values.code);
  if (code === undefined) {
    process.stderr.write(
      `yubikey-helper: --code ${values.code} is not a pairing code: the lab page shows 8 letters and digits, as XXXX-XXXX\n`,
    );
    return 2;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  let token;
  let open: () => Promise<RootKeyToken>;
  try {
    const module = findModule(values.module ? { explicit: values.module } : {});
    log(`PKCS#11 module: ${module}`);
    const pin = terminalPinSource({ input: process.stdin, output: process.stdout });
    open = () => openToken({ module, pin });
    token = await open();
    const { label, model, manufacturer } = token.description;
    log(`Token: ${label} (${manufacturer} ${model})`);
  } catch (error) {
    if (error instanceof TokenError) {
      process.stderr.write(
        `yubikey-helper: ${error.message}\n${error.suggestion ? `${error.suggestion}\n` : ''}`,
      );
      return 1;
    }
    throw error;
  }
  let ca: Buffer | undefined;
  if (values.ca) {
    try {
      ca = readFileSync(values.ca);
    } catch (error) {
      process.stderr.write(`yubikey-helper: cannot read --ca ${values.ca}: ${(error as Error).message}\n`);
      token.close();
      return 2;
    }
  }
  let client: HelperClient;
  try {
    client = new HelperClient({
      server: values.server,
      code,
      token,
      reopen: open,
      log,
      ...(ca ? { ca } : {}),
    });
  } catch (error) {
    token.close();
    if (error instanceof HelperClientError) {
      process.stderr.write(`yubikey-helper: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  log(`Connecting to ${values.server} …`);
  const stop = () => client.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const end = await client.run();
  client.token?.close();
  if (end.reason === 'stopped') return 0;
  if (end.reason === 'unreachable') {
    process.stderr.write(`yubikey-helper: ${end.message}\n`);
    return 1;
  }
  return end.code === 'UNPAIRED' || end.code === 'REPLACED' || end.code === 'SHUTDOWN' ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `yubikey-helper: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
