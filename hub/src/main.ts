/**
 * Runs the hub as a process: `tsx hub/src/main.ts --data-dir DIR [--port N]
 * [--host H] [--hostname NAME]... [--no-tls] [--upload-ttl-ms MS]`.
 *
 * Prints one JSON line `{"url": "...", "caCertificatePath": "..."}` on stdout
 * once listening (tests and the lab launcher read it), and closes cleanly on
 * SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { createHub } from './index.js';

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      hostname: { type: 'string', multiple: true, default: [] },
      'no-tls': { type: 'boolean', default: false },
      'upload-ttl-ms': { type: 'string' },
      'public-url': { type: 'string' },
    },
  });
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required');
  const hub = createHub({
    dataDir,
    port: Number(values.port),
    host: values.host,
    hostnames: values.hostname,
    tls: !values['no-tls'],
    ...(values['upload-ttl-ms'] ? { uploadTtlMs: Number(values['upload-ttl-ms']) } : {}),
    ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}),
  });
  const url = await hub.listen();
  process.stdout.write(`${JSON.stringify({ url, caCertificatePath: hub.caCertificatePath ?? null })}\n`);
  const stop = () => {
    hub.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
