/**
 * `npm start`: starts what exists of TrustLab so far.
 *
 * Today that is trust-core only, which is a library: there is no server to
 * start yet. This script says so plainly instead of pretending.
 */
console.log('TrustLab: trust-core (the Notary/TUF engine) is built; the hub and the lab page are not yet.');
console.log('Run `npm test` to exercise it, or `npm run bench:trust-core` for its benchmark.');
