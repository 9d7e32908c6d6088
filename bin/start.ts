/**
 * `npm start`: starts what exists of TrustLab and prints its addresses.
 *
 * Today that is the hub (registry, Notary API, accounts) on
 * https://localhost:4443. The web app and the lab terminal do not exist yet;
 * this says so rather than pretending.
 */
import { createHub } from '../hub/src/index.js';
import { readSettings } from './settings.js';

const settings = readSettings();
const hub = createHub({
  dataDir: settings.dataDir,
  port: settings.hubPort,
  host: settings.hubHost,
  hostnames: settings.hubHostnames,
});
const url = await hub.listen();
console.log('TrustLab');
console.log(
  `  hub:     ${url.replace('127.0.0.1', 'localhost')}  (CA certificate: ${hub.caCertificatePath ?? 'none'})`,
);
console.log(`  data:    ${settings.dataDir}`);
console.log('  The lab page (http://localhost:3000) is not built yet: only the hub runs.');
console.log('  Create an account with: bin/trustlab user add NAME --password-stdin');
const stop = () => void hub.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
