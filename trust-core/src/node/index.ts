/**
 * Node-only parts of trust-core: the notary-compatible private key file store
 * and RSA verification with node:crypto.
 */
import { useDigestProvider } from '../encoding/bytes.js';
import { nodeDigests } from './digests.js';

// Under Node, hash with node:crypto rather than the portable JS default.
useDigestProvider(nodeDigests);

export { nodeDigests };
export { FileKeyStore } from './file-key-store.js';
export type { KeyListEntry, LoadOptions } from './file-key-store.js';
export { nodeRsaVerifier } from './rsa-verifier.js';
export { FileMetadataCache } from './file-metadata-cache.js';
export { NotaryHttpClient } from './notary-http.js';
export type { NotaryHttpOptions } from './notary-http.js';
export { ensureDir, writeFileAtomic } from './atomic-file.js';
export { NotaryRepository } from './notary-repository.js';
export { rootCertificateOnToken, storeRootKeyOnToken } from './hardware-root-keys.js';
export type { InitOptions, NotaryRepositoryOptions } from './notary-repository.js';
