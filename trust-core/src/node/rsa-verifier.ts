/**
 * RSA signature verification for trust-core, with node:crypto (the portable
 * core has no RSA arithmetic). Parameters follow notary
 * tuf/signed/verifiers.go: `rsapss` and `pycrypto-pkcs#1 pss` are RSASSA-PSS
 * with SHA-256, MGF1-SHA-256 and a 32-byte salt; `rsapkcs1v15` is PKCS#1 v1.5
 * with SHA-256. Key size (≥ 2048 bits) is checked by verifySignature first.
 */
import { constants, createPublicKey, verify } from 'node:crypto';
import type { RsaSignatureMethod, RsaVerifier } from '../crypto/signatures.js';

export const nodeRsaVerifier: RsaVerifier = {
  verify(
    method: RsaSignatureMethod,
    spkiDer: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): boolean {
    try {
      const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
      if (key.asymmetricKeyType !== 'rsa') return false;
      if (method === 'rsapkcs1v15') {
        return verify('sha256', message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      }
      return verify(
        'sha256',
        message,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
    } catch {
      return false;
    }
  },
};
