/**
 * The cryptographic keys layer of trust-core: notary-compatible public keys
 * and key IDs, signing and verification, root certificates, encrypted key
 * files and the passphrase retriever contract. Node-only pieces (the file key
 * store, RSA verification) are in trust-core/src/node.
 */
export { KEY_TYPES, PublicKey, computeKeyId, isKnownKeyType, isX509KeyType } from './keys.js';
export type { KeyType } from './keys.js';
export { PrivateKey, SIGNATURE_METHODS, parseSignatureMethod, verifySignature } from './signatures.js';
export type {
  PrivateKeyType,
  RsaSignatureMethod,
  RsaVerifier,
  SignatureMethod,
  Signer,
  VerifyOptions,
} from './signatures.js';
export {
  ROOT_CERT_VALIDITY_DAYS,
  certificatePemOf,
  checkRootCertificate,
  createRootCertificate,
  createRootCertificateWith,
  matchCommonNameToGun,
  parseCertificate,
  rootPublicKey,
} from './x509.js';
export type { ParsedCertificate, RootCertificateCheck } from './x509.js';
export type { HardwareKeyStore, HardwareRootKey, HardwareSignPurpose } from './hardware-key-store.js';
export {
  KEY_FILE_PBKDF2_ITERATIONS,
  decodeKeyFile,
  encodeKeyFile,
  keyFileGun,
  readKeyFileHeaders,
} from './key-file.js';
export type { DecodedKeyFile, KeyFileHeaders, KeyFileOptions } from './key-file.js';
export {
  MIN_PASSPHRASE_LENGTH,
  checkNewPassphrase,
  fixedPassphraseRetriever,
  passphraseAlias,
} from './passphrase.js';
export type { PassphraseRequest, PassphraseRetriever } from './passphrase.js';
export { decodePem, decodePemBlocks, encodePem } from './pem.js';
export type { PemBlock } from './pem.js';
