/**
 * `npm start`: starts what exists of TrustLab and prints its addresses.
 *
 * Today that is the hub (registry, Notary API, accounts) on
 * https://localhost:4443. The web app and the lab terminal do not exist yet;
 * this says so rather than pretending.
 */
import { launchHub } from './launch-hub.js';
import { readSettings } from './settings.js';

const settings = readSettings();
const { hub, url } = await launchHub(settings);
console.log('TrustLab');
console.log(`  hub:     ${url}  (CA certificate: ${hub.caCertificatePath ?? 'none'})`);
console.log(`  data:    ${settings.dataDir}`);
console.log('  The lab page (http://localhost:3000) is not built yet: only the hub runs.');
console.log('  Create an account with: bin/trustlab user add NAME --password-stdin');
